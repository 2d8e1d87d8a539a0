package atlas

// PeriodsService lists and closes accounting periods.
type PeriodsService service
