# NVIDIA GPUs: the driver and nvidia-container-toolkit (eks-node makes
# nvidia-container-runtime containerd's default handler where a GPU is
# present), EFA for multi-node training, room for CUDA images.
variant               = "nvidia"
nvidia_driver_version = "560"
efa_version           = "1.37.0"
volume_size           = 50
