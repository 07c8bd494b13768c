"""Per-daemon line parsers: each turns a lines frame into event frames."""
