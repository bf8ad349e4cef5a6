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
        discussion: "The DSYNC target is the owner of the receiver's key (identity.key-file); its port is the first listen port (RFC 9859 §3, the DDNS draft).")

    /// The SvcParamKey for `bootstrap` (no IANA number yet; tdns uses key65282, from the private
    /// range of RFC 9460 §14.3.2).
    static let bootstrapKey = 65282

    @OptionGroup var options: KeysCommand.Options
    @Argument(help: "The parent zone, e.g. parent.")
    var zone: String
    @Option(help: "TTL of the records. Default 3600.")
    var ttl: UInt32 = 3600

    func run() throws {
        try reporting {
            let configuration = try AgentConfiguration.load(path: options.config)
            let name = try absoluteName(zone)
            guard let served = configuration.zone(named: name) else { throw UsageFailure("\(name) is not a zone in \(options.config)") }
            guard let keyPath = configuration.identityKeyFile else {
                throw UsageFailure(
                    "\(options.config) has no identity.key-file: the receiver's key names the DSYNC target (make one with delegsync keygen agent.\(name))")
            }
            let identity = try BINDKeyFile.load(path: keyPath.hasSuffix(".private") ? String(keyPath.dropLast(8)) + ".key" : keyPath)
            let target = identity.owner
            guard let listen = configuration.listen.first else { throw UsageFailure("no listen address configured") }
            var update = Update(zone: name)
            // RFC 9859 §3: the wildcard form covers every child.
            let owner = try DomainName("*._dsync", origin: name)
            let dsync = DSYNCData(rrType: .any, scheme: .update, port: UInt16(listen.port), target: target)
            update.deleteRRset(owner, .dsync)
            update.add(Record(name: owner, type: .dsync, ttl: ttl, rdata: dsync.rdata))
            // The NOTIFY scheme (RFC 9859 §2.1, scheme 1) when the zone scans: NOTIFY(CDS) and
            // NOTIFY(CSYNC) go to the same listener.
            if served.scanner.enabled {
                for type in [RRType.cds, .csync] {
                    update.add(Record(name: owner, type: .dsync, ttl: ttl, rdata: DSYNCData(rrType: type, scheme: .notify, port: UInt16(listen.port), target: target).rdata))
                }
            }
            if target.isSubdomain(of: name) {
                for address in configuration.listen.map(\.address) {
                    update.add(try Record("\(target) \(ttl) IN \(address.contains(":") ? "AAAA" : "A") \(address)"))
                }
            }
            update.deleteRRset(target, .key)
            update.add(Record(name: target, type: .key, ttl: ttl, rdata: identity.keyData.rdata))
            // The bootstrap methods offered (PROTOCOL.md): ServiceMode (priority 1), target "." =
            // the owner itself; AliasMode would make clients ignore the parameters.
            update.deleteRRset(target, .svcb)
            if !served.bootstrap.methods.isEmpty {
                let methods = served.bootstrap.methods.map(\.rawValue).joined(separator: ",")
                update.add(try Record("\(target) \(ttl) IN SVCB 1 . port=\(listen.port) key\(Self.bootstrapKey)=\"\(methods)\""))
            }
            print(NSUpdateScript(update: update).text, terminator: "")
        }
    }
}
