"""The portal: server-rendered Spanish pages for every flow, over the services' public APIs."""
