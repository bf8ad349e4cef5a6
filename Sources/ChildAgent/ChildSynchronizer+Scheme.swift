import DNSWire
import Store

extension ChildSynchronizer {
    /// What one sync by the child's scheme did (``sync(scheme:attempts:backoff:send:)``).
    public struct SchemeReport: Sendable {
        public var scheme: ChildConfiguration.Scheme
        /// The parent already served what the child's apex says: nothing was sent.
        public var inStep = false
        /// The UPDATE's outcome: the parent's answer, or why there was none.
        public var update: Result<ParentReply, ChildAgentError>?
        /// Each NOTIFY sent, with its answer or why there was none.
        public var notified: [(type: RRType, result: Result<ParentReply, ChildAgentError>)] = []
        /// What the child zone lacks for the NOTIFY scheme (``NotifyPlan``).
        public var warnings: [String] = []

        /// In step, or the parent accepted at least one of the messages sent.
        public var succeeded: Bool {
            if inStep { return true }
            if case .success(let reply)? = update, reply.rcode == .noError { return true }
            return notified.contains { if case .success = $0.result { true } else { false } }
        }

        /// The UPDATE's outcome in words, nil when none was sent.
        public var updateText: String? {
            update.map {
                switch $0 {
                case .success(let reply): "\(reply)"
                case .failure(let error): "\(error)"
                }
            }
        }

        /// The NOTIFYs' answers in words, one per line, nil when none was sent.
        public var notifyText: String? {
            guard !notified.isEmpty else { return nil }
            return notified.map { type, result in
                switch result {
                case .success(let reply): "\(type): \(reply)"
                case .failure(let error): "\(type): \(error)"
                }
            }.joined(separator: "\n")
        }

        /// One line for the log: what was sent and what the parent answered.
        public var summary: String {
            if inStep { return "in step: the parent's delegation matches the child's apex" }
            var parts: [String] = []
            switch update {
            case .success(let reply)? where scheme == .update: return "applied: the parent committed the change (\(reply))"
            case .success(let reply)?: parts.append("UPDATE: the parent committed the change (\(reply))")
            case .failure(let error)?: parts.append("UPDATE: \(error)")
            case nil: break
            }
            for (type, result) in notified {
                switch result {
                case .success(let reply): parts.append("NOTIFY(\(type)): the parent answered \(reply) and scans the child")
                case .failure(let error): parts.append("NOTIFY(\(type)): \(error)")
                }
            }
            if update == nil && notified.isEmpty { parts.append("nothing sent: the zone publishes nothing the parent's scan would act on") }
            return "scheme \(scheme.rawValue): " + parts.joined(separator: "; ")
        }
    }

    /// Where the parent zone is found for `scheme`: the UPDATE receiver when an UPDATE is sent,
    /// else the NOTIFY target for CDS (the parent of both is the same zone).
    public func target(for scheme: ChildConfiguration.Scheme) async throws -> DSYNCTarget {
        scheme.sendsUpdate ? try await target() : try await notifyTarget(type: .cds)
    }

    /// One sync of `delegsync child watch` by the child's `scheme`: reads both sides
    /// (``plan(target:)``); when they differ, sends the signed UPDATE (``sync(dryRun:attempts:backoff:wait:poll:)``'s
    /// exchange) for `update` and `both`, and for `notify` and `both` NOTIFY(CDS) and/or
    /// NOTIFY(CSYNC) as ``NotifyPlan`` finds them called for (``notify(type:attempts:send:)``,
    /// with its retries). What was sent and answered is stored as the child's
    /// ``ChildSchemeState``; a later sync that finds parent and child in step notes the time.
    ///
    /// Throws what the read throws (nothing sent, nothing stored); with scheme `update` also the
    /// UPDATE's failure, as `sync` does. With `both` and `notify`, failures of single messages
    /// are in the report.
    public func sync(
        scheme: ChildConfiguration.Scheme, attempts: Int = 4, backoff: Duration = .seconds(2), send: NotifySend? = nil
    ) async throws -> SchemeReport {
        let plan = try await plan(target: try await target(for: scheme))
        var report = SchemeReport(scheme: scheme)
        guard !plan.diff.isEmpty else {
            report.inStep = true
            try noteInStep()
            return report
        }
        let sentAt = clock()
        if scheme.sendsUpdate {
            do {
                if case .applied(let reply) = try await syncOnce(plan: plan, dryRun: false, attempts: attempts, backoff: backoff) {
                    report.update = .success(reply)
                }
            } catch {
                report.update = .failure(Self.failure(error))
                if scheme == .update {
                    try store(report, sentAt: sentAt)
                    throw error
                }
            }
        }
        if scheme.sendsNotify {
            var changed = NotifyPlan.changedTypes(plan.diff.operations)
            var csync: [Record] = []
            if NotifyPlan.needsCSYNC(changed) {
                do {
                    csync = try await publishedCSYNC()
                } catch {
                    report.warnings.append("cannot read the CSYNC of \(child.name) from its primary, so no NOTIFY(CSYNC) was sent: \(error)")
                    changed.subtract([.ns, .a, .aaaa])
                }
            }
            let needs = NotifyPlan(child: child.name, changed: changed, apex: plan.apex, csync: csync)
            report.warnings += needs.warnings
            for type in needs.types {
                do {
                    report.notified.append((type, .success(try await notify(type: type, attempts: attempts, send: send))))
                } catch {
                    report.notified.append((type, .failure(Self.failure(error))))
                }
            }
        }
        try store(report, sentAt: sentAt)
        return report
    }

    /// An error of one message as the report keeps it: a ``ChildAgentError`` as it is, anything
    /// else (a key file, DSYNC discovery) in words.
    static func failure(_ error: any Error) -> ChildAgentError {
        error as? ChildAgentError ?? ChildAgentError(.configuration, "\(error)")
    }

    /// The CSYNC RRset at the child's apex as its primary serves it (RD=0, over TCP).
    func publishedCSYNC() async throws -> [Record] {
        let answer = try await lookup.query(child.name, .csync, server: child.primary, recursionDesired: false, transport: .tcp)
        guard answer.rcode == .noError else {
            throw ChildAgentError(.unreachable, "the primary \(child.primary) answered \(answer.rcode) to \(child.name) CSYNC")
        }
        return answer.answers(child.name, .csync)
    }

    func store(_ report: SchemeReport, sentAt: Int64) throws {
        try store.putChildSchemeState(
            ChildSchemeState(
                child: child.name, scheme: report.scheme.rawValue, sentAt: sentAt, update: report.updateText, notify: report.notifyText,
                warnings: report.warnings.joined(separator: "\n")))
    }

    /// Parent and child agree: the stored state records since when (once per change sent).
    func noteInStep() throws {
        guard var state = try store.childSchemeState(child: child.name), state.inStepAt == nil else { return }
        state.inStepAt = clock()
        try store.putChildSchemeState(state)
    }
}
