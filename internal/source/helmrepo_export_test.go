package source

// ExpireHelmIndexes forgets a Client's cached Helm indexes, so that a test
// need not wait for the TTL.
func ExpireHelmIndexes(c *Client) { c.helmIndexCache().expire() }
