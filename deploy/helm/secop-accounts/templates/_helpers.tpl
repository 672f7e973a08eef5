{{/*
Names, labels and the facts about each service that values do not change.
*/}}

{{- define "secop.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "secop.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>": every object of one service. */}}
{{- define "secop.component" -}}
{{- printf "%s-%s" (include "secop.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "secop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Every pod of this release (the default-deny NetworkPolicy selects these). */}}
{{- define "secop.releaseSelector" -}}
app.kubernetes.io/name: {{ include "secop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "secop.selectorLabels" -}}
{{ include "secop.releaseSelector" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "secop.labels" -}}
{{ include "secop.selectorLabels" . }}
app.kubernetes.io/part-of: secop-accounts
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "secop.chart" .root }}
{{- end -}}

{{/*
What each service is, as the code has it: its HTTP port (the image's), whether it logs in to
Kafka, has a MongoDB database, consumes events (its consumer group is <prefix><name>), stands
behind the portal (TRUSTED_PROXIES), and the event types it consumes (secop_contracts.access
SUBSCRIPTIONS; tests/unit/test_helm_chart.py keeps the lists equal).
*/}}
{{- define "secop.facts" -}}
registration:
  port: 8001
  kafka: true
  mongodb: true
  public: true
  consumes: [CredentialsResendRequested]
membership:
  port: 8002
  kafka: true
  mongodb: true
  public: true
  consumes: [AccountActivationDecided, CaseAssigned, CaseMessageAdded, CaseOpened, CaseReopened, CaseResolved, EntitySubmissionLinked, MixedProfileDecided, UserConfirmed, UserProfileUpdated, UserRegistered, UserSessionsRevoked, UserSignedOut]
support:
  port: 8003
  kafka: true
  mongodb: true
  public: true
  consumes: [EntitySubmitted, UserSessionsRevoked, UserSignedOut]
notification:
  port: 8004
  kafka: true
  mongodb: true
  public: false
  consumes: [AccessDecided, AccessRequested, AccountActivated, AccountCaseUpdated, AccountChangeNotice, AccountChangesRequested, AccountRejected, CaseMessageAdded, CaseOpened, CaseResolved, ConfirmationRequested, EntitySubmitted, InvitationRevoked, LibraryDocumentChanged, MemberInvited, PasswordChanged, PasswordResetRequested, SignUpAttempted, UserRegistered, UsernameRecoveryRequested]
projector:
  port: 8005
  kafka: true
  mongodb: false
  public: false
  consumes: []
portal:
  port: 8000
  kafka: false
  mongodb: false
  public: false
  consumes: []
{{- end -}}

{{- define "secop.serviceNames" -}}
[registration, membership, support, notification, projector, portal]
{{- end -}}

{{/* The services the portal calls, and the public API routes each serves (the API ingress). */}}
{{- define "secop.apiRoutes" -}}
registration: [/users, /sessions, /recovery, /.well-known/jwks.json]
membership: [/accounts, /invitations, /directory, /users/me/memberships]
support: [/cases]
{{- end -}}

{{- define "secop.image" -}}
{{- $svc := index .root.Values.services .name -}}
{{- $tag := $svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- $repo := $svc.image.repository -}}
{{- if .root.Values.image.registry -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" .root.Values.image.registry) $repo -}}
{{- end -}}
{{- if $svc.image.digest -}}
{{- printf "%s@%s" $repo $svc.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* http(s)://host of the portal and of the API, as people reach them. */}}
{{- define "secop.scheme" -}}
{{- if .Values.ingress.tls.enabled -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{- define "secop.portalUrl" -}}
{{- printf "%s://%s" (include "secop.scheme" .) .Values.ingress.portal.host -}}
{{- end -}}

{{- define "secop.apiUrl" -}}
{{- if .Values.ingress.api.enabled -}}
{{- printf "%s://%s" (include "secop.scheme" .) .Values.ingress.api.host -}}
{{- else -}}
{{- include "secop.portalUrl" . -}}
{{- end -}}
{{- end -}}

{{/* An env entry read from an existing Secret: (dict "env" NAME "ref" {existingSecret, key}). */}}
{{- define "secop.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.existingSecret | quote }}
      key: {{ .ref.key | quote }}
{{- end -}}

{{/* KEDA's name for a SCRAM mechanism. */}}
{{- define "secop.kedaSasl" -}}
{{- .Values.kafka.saslMechanism | lower | replace "-" "_" | replace "scram_sha_" "scram_sha" -}}
{{- end -}}

{{/*
The non-secret environment of one service (its ConfigMap): (dict "root" $ "name" NAME).
Values' services.<name>.env may override any of it.
*/}}
{{- define "secop.env" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $facts := index (include "secop.facts" $root | fromYaml) $name -}}
{{- $svc := index $root.Values.services $name -}}
{{- $env := dict
  "HTTP_HOST" "0.0.0.0"
  "HTTP_PORT" (toString $facts.port)
  "LOG_LEVEL" $root.Values.logLevel
  "LOG_FORMAT" "json"
-}}
{{- if $facts.kafka -}}
{{- $_ := set $env "KAFKA_BOOTSTRAP_SERVERS" $root.Values.kafka.bootstrapServers -}}
{{- $_ := set $env "KAFKA_SECURITY_PROTOCOL" $root.Values.kafka.securityProtocol -}}
{{- $_ := set $env "KAFKA_SASL_MECHANISM" $root.Values.kafka.saslMechanism -}}
{{- $_ := set $env "KAFKA_CA_FILE" "/etc/secop/kafka-ca/ca.crt" -}}
{{- $_ := set $env "KAFKA_TOPIC_PREFIX" $root.Values.kafka.topicPrefix -}}
{{- $_ := set $env "KAFKA_TOPIC_PARTITIONS" (toString $root.Values.kafka.topicPartitions) -}}
{{- $_ := set $env "KAFKA_REPLICATION_FACTOR" (toString $root.Values.kafka.replicationFactor) -}}
{{- end -}}
{{- if $facts.mongodb -}}
{{- $_ := set $env "MONGODB_DATABASE" (printf "%s%s" $root.Values.mongodb.databasePrefix $name) -}}
{{- end -}}
{{- if or $facts.public (eq $name "portal") -}}
{{- $_ := set $env "TRUSTED_PROXIES" (toJson $root.Values.trustedProxies) -}}
{{- end -}}
{{- if $root.Values.tracing.otlpEndpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" $root.Values.tracing.otlpEndpoint -}}
{{- $_ := set $env "OTEL_SERVICE_NAME" $name -}}
{{- end -}}
{{- if eq $name "registration" -}}
{{- $_ := set $env "PUBLIC_BASE_URL" (include "secop.apiUrl" $root) -}}
{{- $_ := set $env "HASH_WORKERS" (toString $svc.hashWorkers) -}}
{{- else if or (eq $name "membership") (eq $name "support") -}}
{{- $_ := set $env "PUBLIC_BASE_URL" (include "secop.apiUrl" $root) -}}
{{- else if eq $name "notification" -}}
{{- /* Links in the emails open the portal's pages. */ -}}
{{- $_ := set $env "PUBLIC_BASE_URL" (include "secop.portalUrl" $root) -}}
{{- $_ := set $env "SMTP_HOST" $root.Values.smtp.host -}}
{{- $_ := set $env "SMTP_PORT" (toString $root.Values.smtp.port) -}}
{{- $_ := set $env "SMTP_TLS" $root.Values.smtp.tls -}}
{{- $_ := set $env "SMTP_FROM" $root.Values.smtp.from -}}
{{- else if eq $name "projector" -}}
{{- $_ := set $env "INSTANCE_ID" $svc.instanceId -}}
{{- else if eq $name "portal" -}}
{{- $_ := set $env "PUBLIC_BASE_URL" (include "secop.portalUrl" $root) -}}
{{- $_ := set $env "PORTAL_SECURE_COOKIES" (toString $svc.secureCookies) -}}
{{- range $target := list "registration" "membership" "support" -}}
{{- $port := (index (include "secop.facts" $root | fromYaml) $target).port -}}
{{- $_ := set $env (printf "%s_URL" (upper $target)) (printf "http://%s:%v" (include "secop.component" (dict "root" $root "name" $target)) $port) -}}
{{- end -}}
{{- end -}}
{{- toYaml (merge (deepCopy ($svc.env | default dict)) $env) -}}
{{- end -}}

{{/* The secrets one service reads, as env entries. */}}
{{- define "secop.secretEnvs" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $facts := index (include "secop.facts" $root | fromYaml) $name -}}
{{- $s := $root.Values.secrets -}}
{{- if $facts.kafka }}
# The principal and its password together (KEDA reads the name from here too).
- name: KAFKA_USERNAME
  value: {{ $name | quote }}
{{ include "secop.secretEnv" (dict "env" "KAFKA_PASSWORD" "ref" (index $root.Values.kafka.credentials $name)) }}
{{- end }}
{{- if $facts.mongodb }}
{{ include "secop.secretEnv" (dict "env" "MONGODB_URI" "ref" (index $root.Values.mongodb.uri $name)) }}
{{- end }}
{{- if has $name (list "registration" "membership" "support" "portal") }}
{{ include "secop.secretEnv" (dict "env" "JWT_PUBLIC_KEYS" "ref" $s.jwtPublicKeys) }}
{{- end }}
{{- if has $name (list "registration" "membership" "support") }}
{{ include "secop.secretEnv" (dict "env" "NOTIFICATION_SEAL_PUBLIC_KEY" "ref" $s.sealPublicKey) }}
{{- end }}
{{- if eq $name "registration" }}
{{ include "secop.secretEnv" (dict "env" "JWT_PRIVATE_KEY" "ref" $s.jwtPrivateKey) }}
{{- else if eq $name "notification" }}
{{ include "secop.secretEnv" (dict "env" "SEAL_PRIVATE_KEY" "ref" $s.sealPrivateKey) }}
{{ include "secop.secretEnv" (dict "env" "OPERATOR_TOKEN" "ref" $s.operatorToken) }}
{{- with $root.Values.smtp.credentials }}
{{- if .existingSecret }}
{{ include "secop.secretEnv" (dict "env" "SMTP_USERNAME" "ref" (dict "existingSecret" .existingSecret "key" .usernameKey)) }}
{{ include "secop.secretEnv" (dict "env" "SMTP_PASSWORD" "ref" (dict "existingSecret" .existingSecret "key" .passwordKey)) }}
{{- end }}
{{- end }}
{{- else if eq $name "projector" }}
{{ include "secop.secretEnv" (dict "env" "PSEUDONYM_KEY" "ref" $s.pseudonymKey) }}
{{- else if eq $name "portal" }}
{{ include "secop.secretEnv" (dict "env" "PORTAL_SESSION_KEY" "ref" $s.portalSessionKey) }}
{{- end }}
{{- if and $root.Values.tracing.otlpEndpoint $root.Values.tracing.headers }}
{{ include "secop.secretEnv" (dict "env" "OTEL_EXPORTER_OTLP_HEADERS" "ref" $root.Values.tracing.headers) }}
{{- end }}
{{- end -}}

{{/* Whether a service is scaled by KEDA, by the HPA, or by its replicas value. */}}
{{- define "secop.scaler" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if eq .name "projector" -}}
fixed
{{- else if and $svc.keda $svc.keda.enabled -}}
keda
{{- else if $svc.autoscaling.enabled -}}
hpa
{{- else -}}
fixed
{{- end -}}
{{- end -}}

{{/* The security context every container runs with. */}}
{{- define "secop.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "secop.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}
