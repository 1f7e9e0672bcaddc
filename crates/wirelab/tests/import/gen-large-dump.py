#!/usr/bin/env python3
"""Writes a large `aws ec2 describe-*` dump for timing `wirelab import aws`
(docs/import.md, "Speed"): one /16 VPC, 200 subnets over 20 route tables,
2,000 instances, 100 security groups of 10 rules each, 20 NACLs of 20 rules,
an internet gateway and a NAT gateway.

usage: gen-large-dump.py DIR
"""
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
V = "vpc-0000000000000big"


def dump(name, obj):
    with open(os.path.join(out, name), "w") as f:
        json.dump(obj, f, indent=4)


def sid(i):
    return f"subnet-{i:017x}"


def sg(i):
    return f"sg-{i:017x}"


dump("describe-vpcs.json", {"Vpcs": [{"VpcId": V, "CidrBlock": "10.0.0.0/16", "Tags": [{"Key": "Name", "Value": "big"}]}]})
dump("describe-subnets.json", {"Subnets": [
    {"SubnetId": sid(i), "VpcId": V, "CidrBlock": f"10.0.{i}.0/24", "Tags": [{"Key": "Name", "Value": f"subnet {i}"}]}
    for i in range(200)]})
groups = []
for g in range(100):
    perms = []
    for r in range(10):
        if r % 3 == 0:
            perms.append({"IpProtocol": "tcp", "FromPort": 1000 + r, "ToPort": 1000 + r,
                          "UserIdGroupPairs": [{"GroupId": sg((g + r) % 100)}]})
        else:
            perms.append({"IpProtocol": "tcp", "FromPort": 2000 + r, "ToPort": 2100 + r,
                          "IpRanges": [{"CidrIp": f"10.0.{(g + r) % 200}.0/24"}]})
    groups.append({"GroupId": sg(g), "GroupName": f"group-{g}", "VpcId": V, "IpPermissions": perms,
                   "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]})
dump("describe-security-groups.json", {"SecurityGroups": groups})
nacls = []
for n in range(20):
    entries = []
    for r in range(10):
        for egress in (False, True):
            entries.append({"RuleNumber": 100 + r, "Egress": egress, "Protocol": "6",
                            "RuleAction": "deny" if r == 0 else "allow",
                            "CidrBlock": f"10.0.{(n * 10 + r) % 200}.0/24" if r < 9 else "0.0.0.0/0",
                            "PortRange": {"From": 1024, "To": 65535}})
    nacls.append({"NetworkAclId": f"acl-{n:017x}", "VpcId": V, "IsDefault": False, "Entries": entries,
                  "Associations": [{"SubnetId": sid(n * 10 + k)} for k in range(10)]})
dump("describe-network-acls.json", {"NetworkAcls": nacls})
tables = []
for t in range(20):
    routes = [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}]
    routes.append({"DestinationCidrBlock": "0.0.0.0/0", "State": "active",
                   **({"GatewayId": "igw-0000000000000big"} if t == 0 else {"NatGatewayId": "nat-0000000000000big"})})
    tables.append({"RouteTableId": f"rtb-{t:017x}", "VpcId": V, "Routes": routes,
                   "Associations": [{"SubnetId": sid(t * 10 + k), "Main": False} for k in range(10)]})
dump("describe-route-tables.json", {"RouteTables": tables})
reservations = []
for i in range(2000):
    s = i // 10
    inst = {"InstanceId": f"i-{i:017x}", "SubnetId": sid(s), "PrivateIpAddress": f"10.0.{s}.{10 + i % 10}",
            "State": {"Name": "running"}, "SecurityGroups": [{"GroupId": sg(i % 100)}],
            "Tags": [{"Key": "Name", "Value": f"host {i}"}]}
    if s < 10:
        inst["PublicIpAddress"] = f"54.0.{s}.{10 + i % 10}"
    reservations.append({"ReservationId": f"r-{i:017x}", "Instances": [inst]})
dump("describe-instances.json", {"Reservations": reservations})
dump("describe-internet-gateways.json", {"InternetGateways": [
    {"InternetGatewayId": "igw-0000000000000big", "Attachments": [{"VpcId": V, "State": "available"}]}]})
dump("describe-nat-gateways.json", {"NatGateways": [
    {"NatGatewayId": "nat-0000000000000big", "SubnetId": sid(0), "State": "available",
     "NatGatewayAddresses": [{"PrivateIp": "10.0.0.5", "PublicIp": "54.0.0.5"}]}]})
