// Package sopstest writes SOPS-encrypted files for tests, as the sops CLI
// would with an age recipient, so that tests of decryption need no sops
// binary.
package sopstest
