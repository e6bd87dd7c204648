// Package gitserver runs real git servers on loopback for Flotilla's tests:
// the source package's own tests and the end-to-end tests of the controller.
//
// It has three parts, all driven by the git CLI:
//   - Repo, a bare repository on disk with helpers to commit a set of files
//     to a branch, create lightweight and annotated tags, move HEAD and delete
//     branches and tags. Every helper returns or takes full commit SHAs.
//   - HTTP, a smart-HTTP server (git http-backend behind net/http/cgi) with
//     optional basic authentication, bearer-token authentication and TLS. It
//     counts requests, ref listings and pack fetches, so a test can assert how
//     many fetches really reached the server.
//   - SSH, an in-process SSH server (golang.org/x/crypto/ssh) that accepts
//     only the public keys it is given and runs git-upload-pack and
//     git-receive-pack for exec requests inside its root folder. Its host key
//     is available as a known_hosts line.
//
// Promises:
//   - Servers listen on 127.0.0.1 with a port chosen by the kernel; nothing
//     listens elsewhere.
//   - Constructors take a testing.TB, fail the test on error, and register a
//     cleanup that stops the server and waits for its goroutines and child
//     processes; Close may also be called earlier and more than once.
//   - Several servers may serve the same root folder, so one repository can be
//     reached over HTTP and SSH at once.
//   - git runs with a private HOME and no system or global configuration, so
//     the machine's git settings never change a test's outcome.
package gitserver
