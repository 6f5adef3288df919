"""Logic shared by the web process and the workers."""
