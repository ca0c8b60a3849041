"""The generate / transform operations: Handlebars + data -> HTML -> PDF (not stored-document logic)."""
