"""The matching engine: plain data in, plain data out; no database or web server needed to test it."""
