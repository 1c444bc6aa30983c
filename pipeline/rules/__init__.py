"""Pure billing rules: no I/O, no clocks, no Redis. Everything here is a function of its arguments."""
