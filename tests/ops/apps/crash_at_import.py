"""A target that fails as it is imported: every worker dies at once, a crash loop with respawns on."""

raise RuntimeError('this app cannot start')
