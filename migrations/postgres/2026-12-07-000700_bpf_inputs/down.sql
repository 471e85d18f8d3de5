DROP TABLE bpf_inputs;
