// Package signtest makes real signatures for tests: SSH and OpenPGP
// signatures of git commits (with gitserver.Repo.CommitSigned) and cosign
// signatures of OCI manifests pushed to a test registry, by a key or
// keylessly (a certificate from a Fulcio-like CosignCA, a Rekor bundle
// signed by a RekorLog's key). Keys are made per call and never leave the
// test. Its helpers fail the test on error.
package signtest
