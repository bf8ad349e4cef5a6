import DNSWire

/// Decides which of the two episode events are due, from what the store holds and the time
/// passed in (no I/O, no clock), so that each episode is reported once, also across restarts.
///
/// - **Backend failing** (per parent zone): an episode opens at the first failure to bring a
///   change to the parent's primary (the primary does not answer the read before a change, the
///   backend fails, or the primary does not serve a change it took) and closes at the next
///   change that reaches it. `backend-failing` is due once the episode is
///   `backendFailingAfter` seconds old; `backend-recovered` when a reported episode closes. A
///   permanent refusal of one change's content is not a failure of the backend.
/// - **Out of step** (per child): the child is out of step at `now` while its oldest pending
///   outbox entry (an accepted change not yet confirmed at the parent) was created at least
///   `outOfStepAfter` seconds before `now`. The episode is reported when that first holds and
///   ends when it no longer holds (the entry was applied or given up, and no other pending entry
///   is as old); `out-of-step` is due once per episode. Its stored start is the entry's creation.
///
/// The store keeps one row per open episode (``Episode``): its start, and when it was reported.
/// Nothing else about events is stored: what is pending comes from the outbox (``Backlog``).
public struct EventMonitor: Sendable, Hashable {
    /// Seconds a backend episode lasts before it is reported. Default 900 (15 minutes).
    public var backendFailingAfter: Int64
    /// Seconds an accepted change may wait before its child is reported out of step.
    /// Default 43200 (12 hours).
    public var outOfStepAfter: Int64

    public init(backendFailingAfter: Int64 = 900, outOfStepAfter: Int64 = 43200) {
        self.backendFailingAfter = backendFailingAfter
        self.outOfStepAfter = outOfStepAfter
    }

    /// An open episode, as the store keeps it.
    public struct Episode: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, CaseIterable {
            case backendFailing = "backend-failing"
            case outOfStep = "out-of-step"
        }

        public var kind: Kind
        public var zone: DomainName
        /// The child (out of step); nil for a zone's backend.
        public var child: DomainName?
        /// When it started, Unix seconds.
        public var since: Int64
        /// When its event was handed on; nil while it has not been reported.
        public var reportedAt: Int64?
        /// What started it (the backend's first error), for the event's detail.
        public var detail: String

        public init(kind: Kind, zone: DomainName, child: DomainName? = nil, since: Int64, reportedAt: Int64? = nil, detail: String = "") {
            self.kind = kind
            self.zone = zone
            self.child = child
            self.since = since
            self.reportedAt = reportedAt
            self.detail = detail
        }

        /// Zone and child: at most one open episode of a kind each.
        public var subject: String { "\(zone.lowercased) \(child.map { $0.lowercased.description } ?? "-")" }
    }

    /// A child's accepted changes not yet confirmed at the parent: its pending outbox entries.
    public struct Backlog: Sendable, Hashable {
        public var zone: DomainName
        public var child: DomainName
        /// Creation time of the oldest pending entry, Unix seconds.
        public var oldest: Int64
        /// How many entries are pending.
        public var count: Int
        /// The key that signed the oldest one.
        public var signer: KeyIdentity?
        /// The oldest one's last failed attempt.
        public var lastError: String?

        public init(zone: DomainName, child: DomainName, oldest: Int64, count: Int, signer: KeyIdentity? = nil, lastError: String? = nil) {
            self.zone = zone
            self.child = child
            self.oldest = oldest
            self.count = count
            self.signer = signer
            self.lastError = lastError
        }
    }

    /// What a review found: episodes now reported, each with its event (store the episode,
    /// then hand on the event), and episodes that ended (to forget).
    public struct Review: Sendable, Hashable {
        public struct Report: Sendable, Hashable {
            public var episode: Episode
            public var event: OperatorEvent
        }

        public var reported: [Report] = []
        public var ended: [Episode] = []
        public init() {}

        /// The events, in order.
        public var events: [OperatorEvent] { reported.map(\.event) }
    }

    /// The episode events due at `now`. `zones` are the parent zones configured: episodes of
    /// other zones end without an event.
    public func review(now: Int64, zones: Set<DomainName>, episodes: [Episode], backlog: [Backlog]) -> Review {
        var review = Review()
        let late = Dictionary(
            backlog.filter { now - $0.oldest >= outOfStepAfter }.map { (Episode(kind: .outOfStep, zone: $0.zone, child: $0.child, since: 0).subject, $0) },
            uniquingKeysWith: { first, _ in first })
        var open: Set<String> = []
        for var episode in episodes {
            guard zones.contains(episode.zone) else {
                review.ended.append(episode)
                continue
            }
            switch episode.kind {
            case .backendFailing:
                guard episode.reportedAt == nil, now - episode.since >= backendFailingAfter else { continue }
                episode.reportedAt = now
                let event = OperatorEvent(
                    kind: .backendFailing, time: now, zone: episode.zone,
                    detail: "changes to \(episode.zone) have not reached the parent's primary since \(UTCTime.text(episode.since)) "
                        + "(\(Self.duration(now - episode.since))); first error: \(episode.detail)")
                review.reported.append(Review.Report(episode: episode, event: event))
            case .outOfStep:
                if late[episode.subject] == nil {
                    review.ended.append(episode)
                } else {
                    open.insert(episode.subject)
                }
            }
        }
        for (subject, entry) in late.sorted(by: { $0.key < $1.key }) where !open.contains(subject) && zones.contains(entry.zone) {
            let event = OperatorEvent(
                kind: .outOfStep, time: now, zone: entry.zone, child: entry.child, key: entry.signer,
                detail: "\(entry.count) accepted change(s) for \(entry.child) not at the parent yet; the oldest is from \(UTCTime.text(entry.oldest)) "
                    + "(\(Self.duration(now - entry.oldest)) ago)" + (entry.lastError.map { "; last error: \($0)" } ?? ""))
            review.reported.append(
                Review.Report(episode: Episode(kind: .outOfStep, zone: entry.zone, child: entry.child, since: entry.oldest, reportedAt: now), event: event))
        }
        return review
    }

    /// The backend of `zone` failed at `now`: the episode to open, or nil when one is open.
    public func backendFailed(zone: DomainName, error: String, now: Int64, open: Episode?) -> Episode? {
        open == nil ? Episode(kind: .backendFailing, zone: zone, since: now, detail: error) : nil
    }

    /// A change reached the primary of the episode's zone at `now`: the episode ends, and a
    /// reported one gets its `backend-recovered`.
    public func backendWorked(_ episode: Episode, now: Int64) -> OperatorEvent? {
        guard let reportedAt = episode.reportedAt else { return nil }
        return OperatorEvent(
            kind: .backendRecovered, time: now, zone: episode.zone,
            detail: "changes to \(episode.zone) reach the parent's primary again, after \(Self.duration(now - episode.since)) of failures "
                + "(since \(UTCTime.text(episode.since)), reported at \(UTCTime.text(reportedAt)))")
    }

    /// `42 s`, `15 min`, `3 h 20 min`, `2 d 1 h`.
    public static func duration(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86400 { return "\(s / 3600) h" + (s % 3600 / 60 == 0 ? "" : " \(s % 3600 / 60) min") }
        return "\(s / 86400) d" + (s % 86400 / 3600 == 0 ? "" : " \(s % 86400 / 3600) h")
    }
}
