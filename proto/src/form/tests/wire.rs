//! The definition and outcome as JSON, and their OpenAPI schemas.

use serde_json::json;

use super::*;

#[test]
fn a_definition_as_the_api_receives_it() {
    let def: FormDefinition = serde_json::from_value(json!({
        "key": "home_visit",
        "title": {"zh": "入户走访核查表", "en": "Home visit"},
        "version": 3,
        "fields": [
            {"name": "visit_date", "label": {"zh": "走访日期"}, "kind": "date",
             "required": true, "min": "2020-01-01", "constraint": ". <= today()"},
            {"name": "area", "label": {"en": "Area"}, "kind": "decimal", "min": 0, "max": 2.5},
            {"name": "members", "label": {"zh": "成员", "en": "Members"}, "kind": "repeat",
             "max": 20,
             "fields": [
                {"name": "health", "label": {"zh": "健康"}, "kind": "select_one",
                 "choices": [{"value": "healthy", "label": {"zh": "健康"}}]}
             ]}
        ]
    }))
    .unwrap();
    assert_eq!(def.fields[0].min, Some(Bound::Date(day("2020-01-01"))));
    assert_eq!(def.fields[1].min, Some(Bound::Integer(0)));
    assert_eq!(def.fields[1].max, Some(Bound::Decimal(2.5)));
    assert_eq!(def.fields[2].fields[0].kind, FieldKind::SelectOne);
    let form = def.check().unwrap();
    assert_eq!(form.key(), "home_visit");
    assert_eq!(form.version(), 3);
    // Absent attributes are not written back.
    let back = serde_json::to_value(&def.fields[1]).unwrap();
    assert_eq!(
        back,
        json!({"name": "area", "label": {"zh": "", "en": "Area"}, "kind": "decimal",
               "min": 0, "max": 2.5})
    );
}

#[test]
fn misspelt_attributes_are_refused_by_serde() {
    let r = serde_json::from_value::<Field>(json!({
        "name": "a", "label": {"zh": "甲"}, "kind": "text", "relevent": "true"
    }));
    assert!(r.unwrap_err().to_string().contains("relevent"));
    let r = serde_json::from_value::<Field>(json!({
        "name": "a", "label": {"zh": "甲"}, "kind": "textarea"
    }));
    assert!(r.is_err());
    let r = serde_json::from_value::<Field>(json!({
        "name": "a", "label": {"zh": "甲"}, "kind": "date", "min": "yesterday"
    }));
    assert!(r.is_err());
}

#[test]
fn kinds_spell_the_same_everywhere() {
    for kind in FieldKind::ALL {
        let text = serde_json::to_value(kind).unwrap();
        assert_eq!(text, json!(kind.as_str()));
        assert_eq!(FieldKind::parse(kind.as_str()), Some(*kind));
    }
    assert_eq!(FieldKind::parse("Text"), None);
    assert!(FieldKind::Integer.takes_answer());
    assert!(!FieldKind::Calculate.takes_answer());
}

#[test]
fn the_outcome_serialises_compactly() {
    let form = compile(vec![
        field("n", FieldKind::Integer).required(),
        calc("double", "${n} * 2"),
    ]);
    let outcome = validate(&form, json!({}));
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({
            "errors": [{"field": "n", "code": "required", "message": "必填 / an answer is required"}],
            "calculated": {"double": null}
        })
    );
    let back: ValidationOutcome =
        serde_json::from_value(serde_json::to_value(&outcome).unwrap()).unwrap();
    assert_eq!(back, outcome);
}

#[test]
fn a_compiled_form_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<CompiledForm>();
    shareable::<ValidationOutcome>();
}

#[test]
fn labels_show_both_languages() {
    assert_eq!(Label::new("户主", "head").both(), "户主 / head");
    assert_eq!(Label::new("户主", "").both(), "户主");
    assert_eq!(Label::new("", "head").both(), "head");
}

#[cfg(feature = "openapi")]
#[test]
fn schemas_of_recursive_fields_do_not_loop() {
    use utoipa::ToSchema;
    let mut schemas = Vec::new();
    FormDefinition::schemas(&mut schemas);
    ValidationOutcome::schemas(&mut schemas);
    let names: Vec<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "Field",
        "Label",
        "FieldKind",
        "Bound",
        "Choice",
        "FieldError",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    let doc = utoipa::openapi::OpenApiBuilder::new()
        .components(Some(
            utoipa::openapi::ComponentsBuilder::new()
                .schema_from::<FormDefinition>()
                .schemas_from_iter(schemas)
                .build(),
        ))
        .build();
    let text = serde_json::to_string(&doc).unwrap();
    assert!(text.contains("\"#/components/schemas/Field\""));
}
