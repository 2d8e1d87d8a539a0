package atlas

// JournalEntriesService manages manual journal entries.
type JournalEntriesService service
