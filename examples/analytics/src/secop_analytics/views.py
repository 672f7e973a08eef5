"""The report's SQL views over ``events``, in the order they depend on each other.

Names and fields are the contracts' (``contracts/src/secop_contracts/schemas/analytics/``).
Ids (``user_id``, ``account_id``, ``membership_id``) are copied as they are, so one person's or
one account's events join on them; personal fields arrive as keyed hashes and none is needed
here. Times are the payload's own (``registered_at``, ``decided_at``...), the moment of the
fact, rather than ``occurred_at``, the moment it was recorded. Days (``CAST(... AS DATE)``)
fall in the session's ``TimeZone``: the report sets America/Bogota unless told otherwise.
"""

from __future__ import annotations

VIEWS: dict[str, str] = {
    # --- sign-ups and confirmation ------------------------------------------------------------
    "sign_ups": """
CREATE OR REPLACE VIEW sign_ups AS
SELECT payload->>'user_id' AS user_id,
       CAST(payload->>'registered_at' AS TIMESTAMPTZ) AS registered_at,
       payload->>'country' AS country,
       payload->>'document_type' AS document_type
FROM events WHERE type = 'UserRegistered'
""",
    # UserConfirmed also follows a confirmed email change: the first one is the sign-up's.
    "confirmations": """
CREATE OR REPLACE VIEW confirmations AS
WITH confirmed AS (
    SELECT payload->>'user_id' AS user_id,
           min(CAST(payload->>'confirmed_at' AS TIMESTAMPTZ)) AS confirmed_at
    FROM events WHERE type = 'UserConfirmed' GROUP BY 1
)
SELECT s.user_id, s.registered_at, c.confirmed_at,
       epoch(c.confirmed_at) - epoch(s.registered_at) AS seconds
FROM sign_ups s LEFT JOIN confirmed c USING (user_id)
""",
    "sign_ups_per_day": """
CREATE OR REPLACE VIEW sign_ups_per_day AS
SELECT CAST(registered_at AS DATE) AS day,
       count(*) AS sign_ups,
       count(confirmed_at) AS confirmed
FROM confirmations GROUP BY day ORDER BY day
""",
    "time_to_confirmation": """
CREATE OR REPLACE VIEW time_to_confirmation AS
SELECT count(*) AS confirmed,
       median(seconds) AS median_s,
       quantile_cont(seconds, 0.9) AS p90_s
FROM confirmations WHERE confirmed_at IS NOT NULL
""",
    # --- activation of accounts ---------------------------------------------------------------
    "activation_decisions": """
CREATE OR REPLACE VIEW activation_decisions AS
SELECT payload->>'account_id' AS account_id,
       payload->>'kind' AS kind,
       CASE type WHEN 'AccountActivated' THEN 'approved'
                 WHEN 'AccountRejected' THEN 'refused'
                 ELSE 'changes_requested' END AS outcome,
       payload->>'case_number' AS case_number,
       CAST(payload->>'decided_at' AS TIMESTAMPTZ) AS decided_at
FROM events
WHERE type IN ('AccountActivated', 'AccountRejected', 'AccountChangesRequested')
""",
    # An entity waits for the service desk (EntitySubmitted, again after changes were asked);
    # a supplier is active the moment it is submitted (AccountActivated alone, lead time 0).
    "submissions": """
CREATE OR REPLACE VIEW submissions AS
SELECT payload->>'account_id' AS account_id,
       payload->>'kind' AS kind,
       CAST(payload->>'submitted_at' AS TIMESTAMPTZ) AS submitted_at,
       coalesce(CAST(payload->>'resubmission' AS BOOLEAN), false) AS resubmission
FROM events WHERE type = 'EntitySubmitted'
UNION ALL
SELECT account_id, kind, decided_at, false
FROM activation_decisions WHERE kind = 'supplier' AND outcome = 'approved'
""",
    # Each submission meets the account's first decision at or after it; none yet: pending,
    # and its seconds are the wait so far.
    "activation_lead_times": """
CREATE OR REPLACE VIEW activation_lead_times AS
SELECT s.account_id, s.kind, s.submitted_at, s.resubmission,
       coalesce(d.outcome, 'pending') AS outcome, d.decided_at, d.case_number,
       epoch(coalesce(d.decided_at, current_timestamp)) - epoch(s.submitted_at) AS seconds
FROM submissions s ASOF LEFT JOIN activation_decisions d
    ON s.account_id = d.account_id AND d.decided_at >= s.submitted_at
""",
    "activation_lead_time": """
CREATE OR REPLACE VIEW activation_lead_time AS
SELECT kind, outcome,
       count(*) AS submissions,
       median(seconds) AS median_s,
       quantile_cont(seconds, 0.9) AS p90_s
FROM activation_lead_times GROUP BY kind, outcome ORDER BY kind, outcome
""",
    # --- access requests ----------------------------------------------------------------------
    # A request's answer is the administrators' latest accept or reject; reverting a rejection
    # makes it pending again; cancelling an accepted member later leaves the answer accepted.
    # Access requests do not expire in this platform: an unanswered one stays pending, and its
    # seconds are the wait so far.
    "access_requests": """
CREATE OR REPLACE VIEW access_requests AS
WITH requested AS (
    SELECT payload->>'membership_id' AS membership_id,
           any_value(payload->>'account_id') AS account_id,
           any_value(payload->'user'->>'user_id') AS user_id,
           min(CAST(payload->>'requested_at' AS TIMESTAMPTZ)) AS requested_at
    FROM events WHERE type = 'AccessRequested' GROUP BY 1
), decided AS (
    SELECT payload->>'membership_id' AS membership_id,
           CAST(payload->>'decided_at' AS TIMESTAMPTZ) AS decided_at,
           payload->>'decision' AS decision
    FROM events WHERE type = 'AccessDecided'
), answers AS (
    SELECT membership_id,
           arg_max(decision, decided_at) AS last_decision,
           arg_max(decision, decided_at)
               FILTER (WHERE decision IN ('accepted', 'rejected')) AS answer,
           max(decided_at) FILTER (WHERE decision IN ('accepted', 'rejected')) AS answered_at,
           bool_or(decision = 'cancelled') AS cancelled_later
    FROM decided GROUP BY 1
)
SELECT r.membership_id, r.account_id, r.user_id, r.requested_at,
       CASE WHEN a.answer IS NULL OR a.last_decision = 'reverted' THEN 'pending'
            WHEN a.answer = 'accepted' THEN 'accepted'
            ELSE 'refused' END AS outcome,
       a.answered_at,
       coalesce(a.cancelled_later, false) AS cancelled_later
FROM requested r LEFT JOIN answers a USING (membership_id)
""",
    "access_request_outcomes": """
CREATE OR REPLACE VIEW access_request_outcomes AS
WITH timed AS (
    SELECT outcome,
           epoch(CASE WHEN outcome = 'pending' THEN current_timestamp ELSE answered_at END)
               - epoch(requested_at) AS seconds
    FROM access_requests
)
SELECT outcome,
       count(*) AS requests,
       median(seconds) AS median_s,
       quantile_cont(seconds, 0.9) AS p90_s
FROM timed GROUP BY outcome ORDER BY outcome
""",
}
