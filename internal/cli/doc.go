// Package cli builds Flotilla's command tree (cobra), one file per command
// group. The tree is built anew by NewRootCommand for every run: there are no
// package-level commands or flags, so tests can run commands side by side.
package cli
