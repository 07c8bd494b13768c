"""Small single-purpose Textual widgets."""
