// Package helmserver runs a real Helm chart repository on loopback for
// Flotilla's tests: an HTTPS server with an index.yaml and chart archives
// (.tgz), as `helm repo index` and a static web server would serve them.
//
//	srv := helmserver.New(t, helmserver.Options{Username: "alice", Password: "s3cret"})
//	digest := srv.AddChart(t, "web", "1.2.0", map[string]string{"templates/cm.yaml": "..."})
//	// helm repo add --ca-file <srv.CACert()> web <srv.URL()>
//
// Promises:
//   - The server listens on 127.0.0.1 with a port chosen by the kernel, over
//     TLS with a certificate signed by the CA that CACert returns. It stops
//     when the test ends; Close may also be called earlier and more than once.
//   - AddChart packages files as `helm package` does (one folder named after
//     the chart, a Chart.yaml written for it when files has none) and
//     regenerates the index, in Helm's format, with each archive's sha256
//     digest and a URL relative to the repository. Archives are packed
//     deterministically: the same files give the same digest.
//   - With Options.Username set, every request needs that basic
//     authentication; others get 401.
//   - Hostile content is served on request: SetIndex replaces the index with
//     any bytes, AddRawArchive lists any bytes as a chart archive, and
//     Archive packs any file names, ".." included.
//   - Requests counts every request per path, authenticated or not, so a
//     test can assert how many downloads reached the server.
package helmserver
