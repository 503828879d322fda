// Package deploy holds no code that ships: its tests validate the files next
// to it — deploy/docker/Dockerfile with the root .dockerignore, and the
// kustomize base and overlays under deploy/k8s — against the services' own
// source, without a container engine, a cluster or the network.
//
// The overlays are rendered in-process with the kustomize library, the NATS
// configuration is parsed by nats-server's own parser, and the BILAT_*
// variables the manifests set are checked against the flags the services
// register. docs/operations.md describes how the files are used.
package deploy
