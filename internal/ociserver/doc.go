// Package ociserver runs a real OCI registry in-process for Flotilla's
// tests: the source package's own tests and the end-to-end tests of the
// controller.
//
// The registry is go-containerregistry's pkg/registry (manifests and blobs
// in memory, tag listing, the referrers API) behind an httptest TLS server,
// with optional basic authentication. Helpers push content as the tools
// Flotilla reads from do, through oras-go:
//   - PushArtifact pushes files as `flux push artifact` does: a tar+gzip
//     layer of type application/vnd.cncf.flux.content.v1.tar+gzip under a
//     config of type application/vnd.cncf.flux.config.v1+json.
//   - PushChart pushes a Helm chart as `helm push` does: the chart's .tgz,
//     one folder named after the chart, under repo/<chart> tagged with the
//     version ('+' becomes '_').
//   - PushLayer and PushRaw push whatever a test needs, hostile content
//     included; Tag adds a tag to a manifest.
//
// Promises:
//   - The server listens on 127.0.0.1 with a port chosen by the kernel and
//     serves https only, with a certificate CACert returns.
//   - New takes a testing.TB, fails the test on error, and registers a
//     cleanup that stops the server; helpers fail the test on error too.
//   - Counts says what reached the server, so a test can assert how many
//     downloads really happened.
package ociserver
