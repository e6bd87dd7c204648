// Package render turns a path of a checked-out source into the Kubernetes
// objects it asks for: a plain folder of YAML and JSON manifests, a
// kustomization built in-process with kustomize, or a Helm chart rendered
// in-process with the Helm SDK as templates (no release, no cluster).
//
// Render takes a Request (the checkout's folder, a path in it, the revision
// and an Application's kustomize options) and returns the objects in a
// deterministic order: for a plain folder by file path, then by position in
// the file; for a kustomization in kustomize's order.
//
// # What it reads
//
// A folder holding Chart.yaml is a Helm chart: its CRDs (crds/) and its
// templates rendered with HelmOptions, test hooks left out, other hooks kept
// with their annotations, which the engine maps onto sync phases and waves
// (see internal/hook, helm.go and helm_load.go). Otherwise, a folder
// holding kustomization.yaml, kustomization.yml or Kustomization is
// built with kustomize; any other folder is plain: its .yaml, .yml and .json
// files, recursively and sorted by path, hidden files and folders (a name
// starting with ".") skipped. Multi-document files are split, empty documents
// skipped, and List kinds flattened. Every object needs apiVersion, kind and
// metadata.name (a hook may have metadata.generateName instead; an ordinary
// object with one is refused naming its file), and an object may be defined
// only once. A mapping key given
// twice in one YAML mapping is an error rather than "last one wins". A path
// naming a single file renders that file. KustomizeOptions edit the top
// kustomization in memory, as `kustomize edit` would (set namePrefix, set
// images, append patches); on a plain folder they apply through a
// kustomization made in memory over its objects.
//
// # What it promises
//
//   - The checkout is only read, and nothing outside it is: Request.Path is
//     refused before any read when it is absolute, URL-encoded, holds a NUL or
//     control character, or climbs out with "..", with an answer that does
//     not depend on what exists there (ErrInvalidPath).
//   - Symbolic links are followed while they stay inside the checkout and
//     refused, naming the link, when they point out (ErrOutsideRoot),
//     whether they are manifests, folders, kustomize resources, patches or
//     generator files. Their targets are never opened, so nothing of them
//     reaches a result or an error. A plain folder refuses every such link in
//     it, even one that names no manifest.
//   - kustomize sees the checkout as its file system and nothing else. Its
//     references may reach anywhere in the checkout ("../base" in an
//     overlay, a shared patch), never out of it (ErrOutsideRoot, naming the
//     kustomization). It fetches nothing: remote bases and files are refused
//     naming the URL, its credentials hidden (ErrRemote). It runs no plugin
//     other than its built-in ones (no exec, Go or container functions) and
//     never runs helm: a kustomization's helmCharts are inflated by this
//     package from charts in the checkout (under helmGlobals.chartHome),
//     through the same confined access and limits as a Helm chart at Path,
//     and handed to kustomize as a resource. An entry with a repo whose
//     chart the checkout does not vendor there takes the chart the caller
//     fetched for it (HelmOptions.Dependencies, as ChartDependencies listed
//     it for the kustomization and the local ones it reads); one fetched
//     by nobody is refused, naming it and its repository (ErrUnsupported).
//   - kustomize's deprecation warnings (bases, commonLabels, …) never reach
//     the process's stdout or stderr: they are Result.Warnings, each naming
//     its kustomization (see quietStderr).
//   - A Helm chart is read through the same confined access (links out of
//     the checkout refused, even those .helmignore lists), so .Files is the
//     chart's own; value files are checked like Path before any read.
//     Rendering fetches nothing. A dependency of Chart.yaml comes from
//     charts/ when it is vendored there (vendored charts win), else from a
//     folder of the repository (file://, never out of it: ErrOutsideRoot),
//     else from HelmOptions.Dependencies, the charts the caller fetched from
//     the Helm repositories and OCI registries that ChartDependencies listed
//     (with Chart.lock's versions, its digest checked first); one that is in
//     none of these is refused naming it and its repository (ErrRemote).
//     Conditions, tags and aliases apply as Helm applies them. A values
//     schema referring to another document is refused. lookup finds
//     nothing, DNS lookups are off, a chart name with path parts is refused,
//     and template errors name the template file.
//   - A file read as manifests, as a kustomize input (resources, patches,
//     generator files) or as a Helm value file that is SOPS-encrypted is
//     decrypted in memory before it is parsed, with Request.Decryption's
//     age or PGP keys and nothing else: never keys of the environment, a
//     plugin, gpg or a cloud KMS. Its MAC is checked. Without keys, with
//     keys that do not fit, or when the file was changed, the render fails
//     (ErrDecryption, naming the file and its recipients); no error holds a
//     decrypted value or a key. The decrypted objects live only in memory,
//     and the cache keys renders by a hash of the keys too (see sops.go).
//   - Limits (Options): size of one file, checked from its size before it is
//     read; bytes read per render; objects per render (for kustomize, also
//     the YAML documents it is handed, before it holds them all); nesting
//     depth; values added by YAML aliases, which stops alias bombs early with
//     bounded memory; YAML nodes per render, counted from each text before
//     it is parsed (internal/yamlsize), which refuses dense YAML before the
//     parser spends memory on it. Going past one is ErrTooLarge, naming the
//     file. A
//     Renderer runs at most Options.MaxConcurrent renders at once, so that
//     the memory of all renders together stays bounded too.
//   - Errors about the source are *Error values: the file relative to the
//     checkout (never a machine path), the document number when it applies,
//     and a Kind for errors.Is.
//   - Results with a Revision are cached (least recently used out first,
//     within a number of results and a byte size estimated from the decoded
//     objects);
//     identical renders running at once happen once, and a render's context
//     ends only when every caller waiting for it has gone. Every caller gets
//     its own deep copy of the objects. Errors are not cached.
//   - A Renderer is safe for concurrent use. kustomize keeps its OpenAPI
//     schema in process-wide variables; this package serialises what must be
//     (see openAPIGate), so a kustomization's custom schema never changes
//     another's build. Other code in the process should not run kustomize
//     itself.
package render
