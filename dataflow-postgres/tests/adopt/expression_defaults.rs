pub const MODELS: &[&dataflow_core::ModelDescriptor] = &[];
