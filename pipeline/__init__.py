"""superbill-pipeline: completed massage sessions into claims, superbills and statements."""
