"""Partners: agreements, unified command, share packages, STIX/TAXII and the export guard."""
