# An Amazon ECS container instance instead of an EKS node: Docker and the ECS agent
# (ecs-init), both AL2023 packages, and the image default settings.node = "ecs"
# (63-ecs; docs/configuration.md, "An ECS container instance"). User data names the cluster
# ([settings.ecs]).
variant = "ecs"
