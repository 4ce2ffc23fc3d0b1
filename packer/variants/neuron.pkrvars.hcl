# AWS Inferentia and Trainium: the Neuron driver and tools, EFA.
variant     = "neuron"
efa_version = "1.37.0"
volume_size = 50
