import Agent
import ArgumentParser
import DNSWire
import Foundation
import SIG0

/// `delegsync publish-records ZONE`: what the parent zone must publish for children to find and
/// authenticate the agent, as nsupdate text (pipe it to `nsupdate -k …` or `knsupdate`).
struct PublishRecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish-records",
        abstract:
            "Print, as nsupdate text, the records the parent zone needs: DSYNC (scheme UPDATE; scheme NOTIFY for CDS and CSYNC when the zone's scanner is on), the target's addresses, the receiver's KEY and the SVCB with the bootstrap methods offered.",
        discussion:
            "The DSYNC target is the owner of the receiver's key (identity.key-file); its port is the first listen port (RFC 9859 §3, the DDNS draft). With --via-nameserver it is the parent's own nameserver instead, which forwards UPDATEs to the agent's front."
    )

    /// The SvcParamKey for `bootstrap` (no IANA number yet; tdns uses key65282, from the private
    /// range of RFC 9460 §14.3.2).
    static let bootstrapKey = 65282

    @OptionGroup var options: KeysCommand.Options
    @Argument(help: "The parent zone, e.g. parent.")
    var zone: String
    @Option(help: "TTL of the records. Default 3600.")
    var ttl: UInt32 = 3600
    @Option(
        help: ArgumentHelp(
            "Name the parent's own nameserver NAME (port 53) as the DSYNC target instead of the agent: children send their UPDATEs to it and it forwards them to the agent's front (zones[].front).",
            valueName: "NAME"))
    var viaNameserver: String?

    func run() throws {
        try reporting {
            let configuration = try AgentConfiguration.load(path: options.config)
            let name = try absoluteName(zone)
            guard let served = configuration.zone(named: name) else { throw UsageFailure("\(name) is not a zone in \(options.config)") }
            let via = try viaNameserver.map(absoluteName)
            if via != nil, served.front == nil {
                throw UsageFailure(
                    "\(name) has no front in \(options.config): nameservers forward UPDATEs to their primaries, so set zones[].front and list it as their primary (docs/parent.md)"
                )
            }
            let identity = try configuration.identityKeyFile.map { path in
                try BINDKeyFile.load(path: path.hasSuffix(".private") ? String(path.dropLast(8)) + ".key" : path)
            }
            guard via != nil || identity != nil else {
                throw UsageFailure(
                    "\(options.config) has no identity.key-file: the receiver's key names the DSYNC target (make one with delegsync keygen agent.\(name))")
            }
            guard let listen = configuration.listen.first else { throw UsageFailure("no listen address configured") }
            let target = via ?? identity!.owner
            let port = via == nil ? listen.port : 53
            var update = Update(zone: name)
            // RFC 9859 §3: the wildcard form covers every child.
            let owner = try DomainName("*._dsync", origin: name)
            let dsync = DSYNCData(rrType: .any, scheme: .update, port: UInt16(port), target: target)
            update.deleteRRset(owner, .dsync)
            update.add(Record(name: owner, type: .dsync, ttl: ttl, rdata: dsync.rdata))
            // The NOTIFY scheme (RFC 9859 §2.1, scheme 1) when the zone scans: NOTIFY(CDS) and
            // NOTIFY(CSYNC) go to the agent's own listener (a nameserver does not forward
            // NOTIFYs, so not through --via-nameserver).
            if served.scanner.enabled, let notifyTarget = identity?.owner {
                for type in [RRType.cds, .csync] {
                    let record = DSYNCData(rrType: type, scheme: .notify, port: UInt16(listen.port), target: notifyTarget)
                    update.add(Record(name: owner, type: .dsync, ttl: ttl, rdata: record.rdata))
                }
            }
            if via == nil, target.isSubdomain(of: name) {
                for address in configuration.listen.map(\.address) {
                    update.add(try Record("\(target) \(ttl) IN \(address.contains(":") ? "AAAA" : "A") \(address)"))
                }
            }
            if let identity {
                update.deleteRRset(identity.owner, .key)
                update.add(Record(name: identity.owner, type: .key, ttl: ttl, rdata: identity.keyData.rdata))
            }
            // The bootstrap methods offered (PROTOCOL.md): ServiceMode (priority 1), target "." =
            // the owner itself; AliasMode would make clients ignore the parameters.
            if via == nil || target.isSubdomain(of: name) {
                update.deleteRRset(target, .svcb)
                if !served.bootstrap.methods.isEmpty {
                    let methods = served.bootstrap.methods.map(\.rawValue).joined(separator: ",")
                    update.add(try Record("\(target) \(ttl) IN SVCB 1 . port=\(port) key\(Self.bootstrapKey)=\"\(methods)\""))
                }
            }
            if let via, let front = served.front {
                printError(
                    "note: the DSYNC names \(via) port 53: children's UPDATEs reach the agent only through that nameserver's forwarding to its primary, "
                        + "which must be the front \(front.address) port \(front.port) (BIND: allow-update-forwarding; Knot breaks the SIG(0), see docs/parent.md); "
                        + "list the addresses it forwards from in zones[].forwarders. Children see the agent's replies only as the nameserver passes them on"
                        + (identity == nil ? "; without identity.key-file they cannot authenticate them" : "") + ".")
            }
            print(NSUpdateScript(update: update).text, terminator: "")
        }
    }
}
