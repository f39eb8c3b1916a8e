// Validates Kubernetes objects against the API's schemas, with the models of
// kubernetes-models (the built-in kinds) and @kubernetes-models/prometheus-operator
// (ServiceMonitor, PrometheusRule): the class is chosen by apiVersion and kind, and an
// object of a kind neither package models is an error, not a pass.
//
// The schemas accept fields they do not define (Kubernetes' OpenAPI allows them, and the
// API server drops them), so a misspelt field (`livenesProbe`) would pass and silently do
// nothing. unknownFields() finds them: every field, in turn, is given a value of another
// type; a field the schema defines then fails validation, an unknown one does not.
//
//   const errors = await validate(object);   // [] when valid
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const MODELS = {
  v1: core,
  'apps/v1': apps,
  'policy/v1': policy,
  'monitoring.coreos.com/v1': monitoring,
};

export function modelOf(object) {
  const group = MODELS[object.apiVersion];
  const Model = group && Object.hasOwn(group, object.kind) ? group[object.kind] : undefined;
  return typeof Model === 'function' && Model.kind === object.kind ? Model : undefined;
}

function schemaErrors(Model, object) {
  try {
    new Model(structuredClone(object)).validate();
    return [];
  } catch (e) {
    return String(e.message).split('\n').filter(Boolean);
  }
}

// Paths (a.b.0.c) of the fields of `object` that the schema of Model does not define.
export function unknownFields(Model, object) {
  const root = structuredClone(object);
  const unknown = [];
  const walk = (value, path) => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...path, i]));
      return;
    }
    if (!value || typeof value !== 'object') return;
    for (const key of Object.keys(value)) {
      const saved = value[key];
      value[key] = saved !== null && typeof saved === 'object' ? 12345 : { notThisType: true };
      if (schemaErrors(Model, root).length === 0) unknown.push([...path, key].join('.'));
      value[key] = saved;
      walk(saved, [...path, key]);
    }
  };
  walk(root, []);
  return unknown;
}

// The schema errors of one object, and its unknown fields, as messages.
export function validate(object) {
  const Model = modelOf(object);
  if (!Model) {
    return [
      `${object.apiVersion} ${object.kind}: no model for this kind (unknown kinds are not passed)`,
    ];
  }
  const errors = schemaErrors(Model, object);
  if (errors.length) return errors;
  return unknownFields(Model, object).map((p) => `${p}: not a field of ${object.kind}`);
}
