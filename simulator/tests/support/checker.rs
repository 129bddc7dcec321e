//! Checks response bodies against the grafana.com OpenAPI spec (loaded at test time, never
//! copied here), or against the shapes in the reference README.

use serde_json::{Value, json};

use super::{Reply, openapi};

#[derive(Clone, Copy)]
pub enum Spec {
    Current,
    Legacy,
}

pub struct Checker {
    pub specs: openapi::Specs,
    pub checked: usize,
}

impl Checker {
    pub fn spec(&self, which: Spec) -> &Value {
        match which {
            Spec::Current => &self.specs.current,
            Spec::Legacy => &self.specs.legacy,
        }
    }

    /// Validates `reply` against the spec's response for `method path`.
    pub fn spec_response(&mut self, which: Spec, path: &str, method: &str, reply: &Reply) {
        let status = reply.status.as_u16();
        if !reply.status.is_success() {
            readme_error(reply);
        }
        match openapi::response_schema(self.spec(which), path, method, status) {
            Some(mut schema) => {
                if status == 409 && reply.code() == "InvalidArgument" {
                    // The README documents `InvalidArgument` as a 409 code
                    // beside the spec's `Conflict`.
                    schema["properties"]["code"]["enum"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!("InvalidArgument"));
                }
                if let Err(errors) = openapi::validate(&schema, &reply.body) {
                    panic!(
                        "{method} {path} {status} violates the spec:\n{errors}\nbody: {}",
                        reply.body
                    );
                }
            }
            None if reply.status.is_success() => {
                let declared = self.spec(which)["paths"][path][method]["responses"]
                    [status.to_string()]
                .is_object();
                assert!(
                    declared,
                    "{method} {path} answered {status}, which the spec does not declare"
                );
                assert_eq!(
                    reply.body,
                    Value::Null,
                    "{method} {path}: spec declares no body"
                );
            }
            // Error statuses the spec omits (429, 5xx) follow the README envelope.
            None => {}
        }
        self.checked += 1;
    }

    pub fn shape(&mut self, schema: &Value, what: &str, reply: &Reply) {
        if let Err(errors) = openapi::validate(schema, &reply.body) {
            panic!(
                "{what} violates its documented shape:\n{errors}\nbody: {}",
                reply.body
            );
        }
        self.checked += 1;
    }
}

/// README: errors are `{"code", "message", "requestId"}`.
pub fn readme_error(reply: &Reply) {
    let schema = json!({
        "type": "object",
        "required": ["code", "message", "requestId"],
        "properties": {
            "code": { "type": "string", "minLength": 1 },
            "message": { "type": "string", "minLength": 1 },
            "requestId": { "type": "string", "minLength": 1 },
        },
    });
    if let Err(errors) = openapi::validate(&schema, &reply.body) {
        panic!(
            "error body is not the README envelope:\n{errors}\nbody: {}",
            reply.body
        );
    }
}
