"""dramatiq workers: broker setup, middleware and thin actors over `pipeline.stages`."""
