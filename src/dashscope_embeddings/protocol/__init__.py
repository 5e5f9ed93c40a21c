"""Sans-IO protocol: request bodies, response parsing and error mapping for each endpoint. No network here."""
