"""The composition of the service graph, written once: `services.build_services` builds every
area's use cases with their collaborators, for the web app (`service.app`) and the simulation
(`service.simulation.world`) alike. Only the composition imports the channels (`service.slack`);
the areas name what they need as interfaces of their own."""
