"""Which documents an account carries, and which files are acceptable.

Entity (guide 004): act of structure and organisation, act of possession of the spending
authority (and the delegation act when delegated), the administrator-authorisation form, the
RUT, and for private bodies the certificate of existence and legal representation (90 days).
Supplier (guide 003): certificate of existence, or a natural person's ID; experience
certificate; financial statements; financial and organisational capacity certificate; RUP
(optional).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath

from pydantic import BaseModel
from secop_runtime.errors import UnsupportedType

ENTITY_DOCUMENTS: dict[str, str] = {
    "structure_act": "Acto de estructura y organización (ley, decreto, ordenanza...)",
    "spending_authority_act": "Acto de posesión del ordenador del gasto",
    "delegation_act": "Acto de delegación (si el ordenador del gasto es delegado)",
    "admin_authorisation": "Formulario de autorización del usuario administrador",
    "rut": "Registro Único Tributario (RUT)",
    "existence_certificate": "Certificado de existencia y representación legal (90 días)",
}
SUPPLIER_DOCUMENTS: dict[str, str] = {
    "existence_certificate": "Certificado de existencia y representación legal",
    "identity_document": "Documento de identidad de la persona natural",
    "experience_certificate": "Certificado de experiencia",
    "financial_statements": "Estados financieros auditados al 31 de diciembre",
    "capacity_certificate": "Certificado de capacidad financiera y organizacional",
    "rup": "Registro Único de Proponentes (RUP)",
}

#: The entity guide's blocked file types.
BLOCKED_EXTENSIONS = frozenset(
    {
        "psd", "gif", "jar", "bat", "rtf", "thmx", "exe", "odt", "dot", "7z", "bmp", "emf",
        "eml", "gsheet", "gz", "isz", "jpe", "oxps", "p7z", "ppsx", "ppt", "dll", "txt", "xlsb",
        "pptx",
    }
)  # fmt: skip

#: Accepted extensions and what their content must sniff as (``filetype`` extensions).
_OLE = frozenset({"doc", "xls", "ppt"})
ACCEPTED_CONTENT: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "jpg": frozenset({"jpg"}),
    "jpeg": frozenset({"jpg"}),
    "png": frozenset({"png"}),
    "tif": frozenset({"tif"}),
    "tiff": frozenset({"tif"}),
    "doc": _OLE,
    "xls": _OLE,
    "docx": frozenset({"docx"}),
    "xlsx": frozenset({"xlsx"}),
    "ods": frozenset({"ods"}),
    "zip": frozenset({"zip"}),
}


class FileRefused(UnsupportedType):
    """A file that must not be stored: a blocked type, or content that is not what its
    extension claims (415)."""


def allowed_documents(kind: str, organisation_type: str | None) -> dict[str, str]:
    """Document types this account may hold (a natural person's ID replaces the certificate)."""
    if kind == "entity":
        return dict(ENTITY_DOCUMENTS)
    docs = dict(SUPPLIER_DOCUMENTS)
    if organisation_type == "natural_person":
        docs.pop("existence_certificate")
    else:
        docs.pop("identity_document")
    return docs


def required_documents(kind: str, organisation_type: str | None, private_body: bool) -> list[str]:
    if kind == "entity":
        required = ["structure_act", "spending_authority_act", "admin_authorisation", "rut"]
        if private_body:
            required.append("existence_certificate")
        return required
    first = (
        "identity_document" if organisation_type == "natural_person" else "existence_certificate"
    )
    return [first, "experience_certificate", "financial_statements", "capacity_certificate"]


def extension_of(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower().lstrip(".")


def check_extension(filename: str) -> str:
    """The file's extension if it is an accepted type, else ``FileRefused``."""
    ext = extension_of(filename)
    if not ext:
        raise FileRefused("the file name has no extension: PDF is preferred")
    if ext in BLOCKED_EXTENSIONS:
        raise FileRefused(f"files of type .{ext} are blocked; PDF is preferred")
    if ext not in ACCEPTED_CONTENT:
        accepted = ", ".join(f".{e}" for e in sorted(ACCEPTED_CONTENT))
        raise FileRefused(f"files of type .{ext} are not accepted; use one of {accepted}")
    return ext


def check_content(ext: str, sniffed: str | None) -> None:
    """The content must be what the extension claims (a ".pdf" that is not a PDF is refused)."""
    if sniffed not in ACCEPTED_CONTENT[ext]:
        seen = f"looks like .{sniffed}" if sniffed else "is not recognisable"
        raise FileRefused(f"the content does not match its .{ext} extension: it {seen}")


class StoredDocument(BaseModel):
    """The current version of one of the account's documents (its content is in the file store)."""

    document_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str | None = None


#: Documents that stay within their own account whatever the reader (but the desk agent
#: working the account's case): a natural person's ID.
PERSONAL_DOCUMENTS = frozenset({"identity_document"})
#: Platform role of the service desk's agents.
SUPPORT_AGENT = "support_agent"
#: Reads of the account's library (``domain.library``) name ``library:<document id>``.
LIBRARY = "library"


def library_doc(document_id: str | None = None) -> str:
    """The ``doc_type`` a read of a library document (or of the library's list) goes by."""
    return f"{LIBRARY}:{document_id}" if document_id else LIBRARY


def in_library(doc_type: str) -> bool:
    return doc_type == LIBRARY or doc_type.startswith(f"{LIBRARY}:")


def outside_reader(
    kind: str, status: str, doc_type: str, *, buyer: bool, working_agent: bool
) -> str | None:
    """Why someone outside an account of ``kind`` in ``status`` may read this document (None:
    they may not).

    ``buyer``: the reader is a member of an active buyer entity, whom the supplier directory
    serves: an active supplier's documents, except a natural person's ID, and its library.
    ``working_agent``: the reader is the desk agent assigned to an open case of the account's
    own (``domain.cases.AccountCase.worked_by``): its registration documents, whatever they
    are (an entity's under review, a natural person's ID), not its library (no part of a case).
    Any other agent reads nothing: the role alone opens no account."""
    if working_agent and not in_library(doc_type):
        return "agent"
    if buyer and kind == "supplier" and status == "active":
        return None if doc_type in PERSONAL_DOCUMENTS else "buyer"
    return None
