/** The bucket uploaded documents live in (created by migration `create_document_ingestion`, declared in config.toml). */
export const DOCUMENTS_BUCKET = 'documents';
