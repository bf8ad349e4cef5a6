import DNSWire
import Foundation
import Transport

/// Applies changes to a zone served by NSD, which has no dynamic update: the agent owns a
/// fragment file of delegation records (``ZoneFragment``) that the operator's zone file
/// `$INCLUDE`s, rewrites it, raises the SOA serial in the zone file, and reloads the zone.
///
/// One commit at a time per zone file, whichever child it is for and however many backend
/// values share the files (``ZoneWriteLock``): each commit reads, changes and writes the whole
/// fragment and the SOA serial. Steps, each of which must succeed:
/// 1. apply the update to the fragment's records; no change at all means nothing to do; the new
///    fragment text must read back to the same records (a record that would not is refused
///    here, before it could make the file unreadable for every later commit);
/// 2. write the new fragment and zone file to temporary files of unique names beside the
///    originals, flushed to disk, and check them with `nsd-checkzone ZONE FILE` (a copy of the
///    zone file that includes the new fragment);
/// 3. keep copies of the old files, rename the new ones into place (atomic per file);
/// 4. `nsd-control -c CONF reload ZONE`;
/// 5. query the zone's SOA over the wire (RD=0) until the served serial is the new one:
///    `nsd-control reload` of a broken zone still prints "ok" and the zone then answers SERVFAIL.
/// On a failure after step 3 the old files are put back and the zone reloaded again.
///
/// Changes applied while a commit is under way wait for it and then go into one commit together
/// (one fragment rewrite and one reload for several children, ``UpdateQueue``); if that commit
/// fails, each change is committed on its own, so one child's bad change does not fail the others.
///
/// Limitations: the zone file must name the fragment in an `$INCLUDE` line (relative paths are
/// taken from the zone file's directory); the agent must be the only writer of the fragment and
/// of the SOA serial, and one agent process per zone file (the write lock is per process); file
/// ownership and mode of rewritten files are not preserved.
public struct NSDBackend: DelegationBackend {
    public let zone: DomainName
    public let zoneFile: String
    public let fragmentFile: String
    /// The nsd.conf path passed to `nsd-control -c`.
    public let controlConfig: String
    public let checkzone: String
    public let control: String
    /// Where NSD answers queries, to confirm the served serial.
    public let server: String
    public let port: Int
    public let client: DNSClient
    /// How long to wait for the reloaded zone to be served. Default 10 s.
    public let reloadWait: Duration
    /// The date for date-based serials (UTC).
    let now: @Sendable () -> Date
    /// Merges concurrent changes into one commit; `nil`: one commit per change.
    public let queue: UpdateQueue?

    public init(
        zone: DomainName, zoneFile: String, fragmentFile: String, controlConfig: String,
        checkzone: String = "nsd-checkzone", control: String = "nsd-control",
        server: String = "127.0.0.1", port: Int = 53, client: DNSClient = DNSClient(timeout: .seconds(2)),
        reloadWait: Duration = .seconds(10), queue: UpdateQueue? = UpdateQueue(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.queue = queue
        self.zone = zone
        self.zoneFile = zoneFile
        self.fragmentFile = fragmentFile
        self.controlConfig = controlConfig
        self.checkzone = checkzone
        self.control = control
        self.server = server
        self.port = port
        self.client = client
        self.reloadWait = reloadWait
        self.now = now
    }

    public var description: String { "nsd zone \(zone) fragment \(fragmentFile)" }

    public func apply(_ update: Update) async throws {
        guard !update.operations.isEmpty else { return }
        guard let queue else { return try await commit(update) }
        try await queue.submit(update) { try await self.commit($0) }
    }

    /// One commit under the zone file's write lock.
    func commit(_ update: Update) async throws {
        try await ZoneWriteLock.mutex(for: zoneFile).withLock {
            try await write(update)
        }
    }

    /// Steps 1–5 of the type's documentation; the caller holds the zone's write lock.
    func write(_ update: Update) async throws {
        let oldFragment = FileManager.default.fileExists(atPath: fragmentFile) ? try read(fragmentFile) : ""
        var fragment = try ZoneFragment(zone: zone, text: oldFragment)
        try fragment.apply(update)
        let newFragment = fragment.text
        guard newFragment != oldFragment else { return }
        do {
            let reread = try ZoneFragment(zone: zone, text: newFragment)
            guard reread.records == fragment.records else { throw BackendError("the records read back differ from those written") }
        } catch {
            throw BackendError("\(description): the new fragment would not read back (\(error)); nothing changed", permanent: true)
        }

        let oldZone = try read(zoneFile)
        let soa = try ZoneFileSerial(text: oldZone)
        let date = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now())
        let serial = ZoneFileSerial.next(after: soa.serial, year: date.year ?? 1970, month: date.month ?? 1, day: date.day ?? 1)
        let newZone = soa.replacingSerial(with: serial)

        // 2. Check the new pair before anything live changes. Temporary names are unique, so
        // that not even a second agent process on the same files can clobber them.
        let unique = UUID().uuidString
        let newFragmentPath = fragmentFile + ".delegsync-\(unique)-new"
        let newZonePath = zoneFile + ".delegsync-\(unique)-new"
        let checkPath = zoneFile + ".delegsync-\(unique)-check"
        defer {
            for path in [newFragmentPath, newZonePath, checkPath] { try? FileManager.default.removeItem(atPath: path) }
        }
        try write(newFragment, to: newFragmentPath)
        try write(newZone, to: newZonePath)
        try write(try includingFragment(newFragmentPath, in: newZone), to: checkPath)
        let check = try await ExternalCommand([checkzone, zone.description, checkPath]).run()
        guard check.status == 0 else {
            throw BackendError("\(description): \(checkzone) rejects the new zone, nothing changed: \(check.output)", permanent: true)
        }

        // 3. Keep the old files, then rename the new ones into place.
        let oldFragmentPath = fragmentFile + ".delegsync-\(unique)-old"
        let oldZonePath = zoneFile + ".delegsync-\(unique)-old"
        try write(oldFragment, to: oldFragmentPath)
        try write(oldZone, to: oldZonePath)
        try rename(newFragmentPath, to: fragmentFile)
        try rename(newZonePath, to: zoneFile)

        // 4 and 5.
        do {
            try await reload()
            let served = try await waitForSerial(serial)
            guard served == serial else {
                throw BackendError("after the reload \(server):\(port) serves serial \(served.map(String.init) ?? "nothing"), not \(serial)")
            }
        } catch {
            try? rename(oldFragmentPath, to: fragmentFile)
            try? rename(oldZonePath, to: zoneFile)
            try? await reload()
            throw BackendError("\(description): \(error); the old files are back in place")
        }
        try? FileManager.default.removeItem(atPath: oldFragmentPath)
        try? FileManager.default.removeItem(atPath: oldZonePath)
    }

    func reload() async throws {
        let result = try await ExternalCommand([control, "-c", controlConfig, "reload", zone.description], timeLimit: 30).run()
        guard result.status == 0, !result.output.lowercased().contains("error") else {
            throw BackendError("\(control) reload \(zone): exit status \(result.status): \(result.output)")
        }
    }

    /// Polls the served SOA serial until it is `serial` or ``reloadWait`` passes; returns the
    /// last serial seen (nil when the zone did not answer with an SOA).
    func waitForSerial(_ serial: UInt32) async throws -> UInt32? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: reloadWait)
        var seen: UInt32? = nil
        repeat {
            seen = try? await servedSerial()
            if seen == serial { return seen }
            try await Task.sleep(for: .milliseconds(100))
        } while clock.now < deadline
        return seen
    }

    /// The serial the server answers for the zone's SOA (RD=0, authoritative answer required).
    public func servedSerial() async throws -> UInt32 {
        var query = Message(question: [Question(name: zone, type: .soa)])
        query.id = UInt16.random(in: 0...UInt16.max)
        let answer = try Message(wire: try await client.exchange(query.wireFormat(), host: server, port: port, transport: .udp))
        guard answer.rcode == .noError, answer.header.aa,
            let soa = answer.answer.first(where: { $0.type == .soa && $0.name == zone })
        else {
            throw BackendError("\(server):\(port) answers \(answer.rcode) without an authoritative SOA for \(zone)")
        }
        let mname = try DomainName.read(from: soa.rdata, at: 0)
        let rname = try DomainName.read(from: soa.rdata, at: mname.next)
        let at = rname.next
        guard soa.rdata.count >= at + 4 else { throw BackendError("short SOA RDATA from \(server):\(port)") }
        return soa.rdata[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The zone text with the `$INCLUDE` of the fragment pointed at `path` instead.
    func includingFragment(_ path: String, in zoneText: String) throws -> String {
        let directory = (zoneFile as NSString).deletingLastPathComponent
        let target = URL(fileURLWithPath: fragmentFile).standardizedFileURL.path
        var found = false
        let lines = zoneText.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0].uppercased() == "$INCLUDE" else { return String(line) }
            var file = String(fields[1])
            if file.hasPrefix("\""), file.hasSuffix("\""), file.count >= 2 { file = String(file.dropFirst().dropLast()) }
            let absolute = file.hasPrefix("/") ? file : directory + "/" + file
            guard URL(fileURLWithPath: absolute).standardizedFileURL.path == target else { return String(line) }
            found = true
            return "$INCLUDE \(path)" + (fields.count > 2 ? " " + fields[2...].joined(separator: " ") : "")
        }
        guard found else { throw BackendError("\(description): \(zoneFile) has no $INCLUDE of \(fragmentFile)") }
        return lines.joined(separator: "\n")
    }

    func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BackendError("\(description): cannot read \(path): \(error)")
        }
    }

    /// Writes a new file and flushes it to disk, so that a rename puts complete content in place.
    func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), let handle = FileHandle(forUpdatingAtPath: path) else {
            throw BackendError("\(description): cannot write \(path)")
        }
        defer { try? handle.close() }
        do {
            try handle.synchronize()
        } catch {
            throw BackendError("\(description): cannot flush \(path): \(error)")
        }
    }

    func rename(_ from: String, to: String) throws {
        guard systemRename(from, to) == 0 else {
            throw BackendError("\(description): cannot rename \(from) to \(to): errno \(errno)")
        }
    }
}

#if canImport(Glibc)
    import Glibc
    private func systemRename(_ from: String, _ to: String) -> Int32 { Glibc.rename(from, to) }
#elseif canImport(Darwin)
    import Darwin
    private func systemRename(_ from: String, _ to: String) -> Int32 { Darwin.rename(from, to) }
#endif
