"""GraphQL plumbing, apart from the types (schema/) and the resolvers: the endpoint and its
request limits, the per-operation context and unit of work, loaders, caches, errors, metrics."""
