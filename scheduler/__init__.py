"""Workshop scheduling engine: domain model, day files, planners, plan checker and KPIs."""
