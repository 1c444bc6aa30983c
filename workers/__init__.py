"""dramatiq workers: broker setup, middleware and thin actors over `pipeline.application.stages`."""
