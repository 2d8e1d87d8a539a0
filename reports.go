package atlas

// ReportsService computes financial statements.
type ReportsService service
