"""The dashboard: server-rendered pages that need no internet and no CDN."""
