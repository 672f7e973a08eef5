"""The Spanish names of membership's values (kinds, statuses, types, documents, the form's
fields), as the guides write them: what the account pages show instead of the codes."""

from __future__ import annotations

KIND_NAMES = {"entity": "Entidad Estatal", "supplier": "Proveedor"}
STATUS_NAMES = {
    "draft": "Borrador",
    "pending_activation": "Esperando activación de la Mesa de Servicio",
    "active": "Activa",
    "changes_requested": "Cambios solicitados por la Mesa de Servicio",
    "rejected": "Rechazada",
}
#: "Mis registros" and "Administración de usuarios" (guide 004's names).
MEMBERSHIP_STATUS_NAMES = {
    "pending": "Esperando aprobación",
    "accepted": "Aceptado",
    "rejected": "Rechazado",
    "cancelled": "Cancelado",
}
INVITATION_STATE_NAMES = {
    "pending": "Pendiente",
    "accepted": "Aceptada",
    "revoked": "Revocada",
    "expired": "Vencida",
    "void": "Sin validez",
}
BUSINESS_AREAS = {"public": "Público", "public_private": "Público y Privado", "private": "Privado"}
ORGANISATION_TYPES = {
    "entity": {
        "state_entity": "Entidad Estatal (Decreto 1082 de 2015)",
        "other_public": "Otras Entidades públicas",
    },
    "supplier": {
        "natural_person": "Persona natural",
        "sas": "Sociedad por Acciones Simplificada (S.A.S.)",
        "ltda": "Sociedad de Responsabilidad Limitada (Ltda.)",
        "sa": "Sociedad Anónima (S.A.)",
        "plural": "Proponente plural (consorcio o unión temporal)",
        "other": "Otro tipo de organización",
    },
}
ORDERS = {"national": "Nacional", "territorial": "Territorial"}
BRANCHES = {
    name: name
    for name in (
        "Ejecutiva",
        "Legislativa",
        "Judicial",
        "Órganos autónomos e independientes",
        "Organismos de control",
        "Organización electoral",
    )
}
ACCOUNT_DOCUMENT_TYPES = {"NIT": "NIT", "CC": "Cédula de ciudadanía", "CE": "Cédula de extranjería"}
PERSON_DOCUMENT_TYPES = {
    "CC": "Cédula de ciudadanía",
    "CE": "Cédula de extranjería",
    "PA": "Pasaporte",
}
BANK_ACCOUNT_TYPES = {"savings": "Ahorros", "checking": "Corriente"}
COUNTRIES = {"CO": "COLOMBIA"}
#: ISO 3166-2 codes membership stores, with the names people read.
DEPARTMENTS = {
    "CO-AMA": "Amazonas",
    "CO-ANT": "Antioquia",
    "CO-ARA": "Arauca",
    "CO-ATL": "Atlántico",
    "CO-BOL": "Bolívar",
    "CO-BOY": "Boyacá",
    "CO-DC": "Bogotá, Distrito Capital",
    "CO-CAL": "Caldas",
    "CO-CAQ": "Caquetá",
    "CO-CAS": "Casanare",
    "CO-CAU": "Cauca",
    "CO-CES": "Cesar",
    "CO-CHO": "Chocó",
    "CO-COR": "Córdoba",
    "CO-CUN": "Cundinamarca",
    "CO-GUA": "Guainía",
    "CO-GUV": "Guaviare",
    "CO-HUI": "Huila",
    "CO-LAG": "La Guajira",
    "CO-MAG": "Magdalena",
    "CO-MET": "Meta",
    "CO-NAR": "Nariño",
    "CO-NSA": "Norte de Santander",
    "CO-PUT": "Putumayo",
    "CO-QUI": "Quindío",
    "CO-RIS": "Risaralda",
    "CO-SAP": "San Andrés, Providencia y Santa Catalina",
    "CO-SAN": "Santander",
    "CO-SUC": "Sucre",
    "CO-TOL": "Tolima",
    "CO-VAC": "Valle del Cauca",
    "CO-VAU": "Vaupés",
    "CO-VID": "Vichada",
}
#: Support's words about a case, as the desk lists the account's cases.
CASE_STATUS_NAMES = {"open": "Abierto", "resolved": "Resuelto"}
CASE_CHANGE_NAMES = {
    "opened": "Caso abierto",
    "answered": "Respuesta de la Mesa de Servicio",
    "resolved": "Caso resuelto",
    "reopened": "Caso reabierto",
}
REQUEST_TYPE_NAMES = {
    "solicitud": "Solicitud",
    "duda": "Duda",
    "peticion": "Petición",
    "queja": "Queja",
    "reclamo": "Reclamo",
    "sugerencia": "Sugerencia",
    "denuncia": "Denuncia",
}
NOTICE_NAMES = {
    "access_requests": "Solicitudes de acceso a la cuenta",
    "access_decisions": "Decisiones sobre las solicitudes de acceso",
    "activation": "Activación de la cuenta por la Mesa de Servicio",
    "document_changes": "Cambios en la Biblioteca de documentos",
    "case_updates": "Novedades de los casos de la Mesa de Servicio",
}

#: The documents each kind of account takes, with the guides' descriptions.
ENTITY_DOCUMENTS = {
    "structure_act": "Último acto de estructura y organización (ley, decreto, ordenanza...)",
    "spending_authority_act": "Acto de posesión del ordenador del gasto",
    "delegation_act": "Acto de delegación (si el ordenador del gasto es delegado)",
    "admin_authorisation": "Formulario de autorización del usuario administrador",
    "rut": "Registro Único Tributario (RUT)",
    "existence_certificate": "Certificado de existencia y representación legal, no mayor a 90 "
    "días (entidades privadas)",
}
SUPPLIER_DOCUMENTS = {
    "existence_certificate": "Certificado de existencia y representación legal",
    "identity_document": "Documento de identidad de la persona natural",
    "experience_certificate": "Certificado de experiencia (lista de contratos que acreditan su "
    "experiencia)",
    "financial_statements": "Estados financieros auditados a 31 de diciembre del año anterior "
    "(o la constancia de la persona natural no obligada a llevar contabilidad)",
    "capacity_certificate": "Certificado de capacidad financiera y organizacional",
    "rup": "Registro Único de Proponentes (RUP)",
}

#: Labels of the form's fields, for the error summary and the list of what is missing.
FIELD_LABELS = {
    "kind": "Tipo",
    "country": "País",
    "legal_name": "Nombre de la Entidad",
    "short_name": "Nombre abreviado",
    "document_type": "Tipo de documento",
    "nit": "NIT",
    "department": "Departamento",
    "municipality": "Municipio",
    "address": "Dirección",
    "postal_code": "Código postal",
    "phone": "Teléfono de oficina",
    "office_email": "Correo electrónico de la oficina",
    "notification_email": "Correo electrónico para notificaciones SECOP II",
    "business_area": "Área de negocio",
    "organisation_type": "Tipo de organización",
    "siif_registered": "¿Está registrada en SIIF?",
    "pci_code": "Código PCI (SIIF)",
    "spgr_registered": "¿Está registrada en SPGR?",
    "spgr_code": "Código SPGR",
    "decentralised": "¿Es descentralizada?",
    "parent_nit": "NIT de la entidad principal",
    "parent_account_id": "Entidad principal",
    "order": "Orden",
    "branch": "Rama",
    "sector": "Sector",
    "entity_type": "Tipo de entidad",
    "msme": "Mipyme",
    "tax_regime": "Régimen tributario",
    "website": "Página web",
    "social_links": "Redes sociales",
    "legal_representative": "Representante legal",
    "legal_representative.full_name": "Nombre del representante legal",
    "legal_representative.document_type": "Tipo de documento del representante legal",
    "legal_representative.document_number": "Número de documento del representante legal",
    "legal_representative.email": "Correo electrónico del representante legal",
    "legal_representative.phone": "Teléfono del representante legal",
    "financial.year": "Año",
    "financial.fiscal_year": "Año fiscal",
    "financial.equity": "Patrimonio",
    "financial.current_assets": "Activo corriente",
    "financial.total_assets": "Activo total",
    "financial.current_liabilities": "Pasivo corriente",
    "financial.total_liabilities": "Pasivo total",
    "financial.operating_income": "Utilidad operacional",
    "financial.interest_expense": "Gastos de intereses",
    "bank_account": "Cuenta bancaria",
    "bank_account.bank": "Nombre de la entidad bancaria",
    "bank_account.account_type": "Tipo de cuenta bancaria",
    "bank_account.number": "Número de cuenta",
}
