"""The membership service: entity and supplier accounts, documents, access requests, directory."""
