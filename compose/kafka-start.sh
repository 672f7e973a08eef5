#!/bin/sh
# Kafka for compose.yaml, secured as in production: TLS with a CA made on first start, SCRAM
# logins, ACLs with nothing allowed by default, the admin the only super user. Works in the
# apache/kafka image and in the project's local stand-in (both: a JRE with keytool, Kafka's
# jars in /opt/kafka/libs). The kafka-setup service then creates the services' credentials,
# the topics and the ACLs.
#
# Private material (keystore, its password, the admin's client settings) stays in the data
# volume; only the CA certificate goes to the shared kafka-ca volume the services mount.
set -eu
: "${KAFKA_PASSWORD_ADMIN:?set KAFKA_PASSWORD_ADMIN in .env - run ./dev keys}"
data=/var/lib/kafka/data
tls="$data/tls"
shared=/etc/kafka/secrets
mkdir -p "$tls" "$data/kraft" "$shared"
keytool=$(command -v keytool || ls /usr/lib/jvm/*/bin/keytool /opt/java/openjdk/bin/keytool 2>/dev/null | head -n 1)

if [ ! -s "$tls/broker.p12" ]; then
  pass=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  "$keytool" -genkeypair -alias ca -keyalg EC -groupname secp256r1 -validity 825 \
    -dname "CN=SECOP compose Kafka CA" -ext bc:c=ca:true,pathlen:0 \
    -keystore "$tls/ca.p12" -storetype PKCS12 -storepass "$pass" -keypass "$pass"
  "$keytool" -exportcert -rfc -alias ca -keystore "$tls/ca.p12" -storepass "$pass" \
    -file "$tls/ca.pem"
  "$keytool" -genkeypair -alias kafka -keyalg EC -groupname secp256r1 -validity 825 \
    -dname "CN=kafka" -keystore "$tls/broker.p12" -storetype PKCS12 \
    -storepass "$pass" -keypass "$pass"
  "$keytool" -certreq -alias kafka -keystore "$tls/broker.p12" -storepass "$pass" \
    -file "$tls/broker.csr"
  "$keytool" -gencert -rfc -alias ca -keystore "$tls/ca.p12" -storepass "$pass" \
    -infile "$tls/broker.csr" -outfile "$tls/broker.pem" -validity 825 \
    -ext "SAN=dns:kafka,dns:localhost,ip:127.0.0.1"
  "$keytool" -importcert -noprompt -alias ca -file "$tls/ca.pem" \
    -keystore "$tls/broker.p12" -storepass "$pass"
  "$keytool" -importcert -noprompt -alias kafka -file "$tls/broker.pem" \
    -keystore "$tls/broker.p12" -storepass "$pass"
  # The CA's key is not kept: nothing else can ever be signed with it.
  rm -f "$tls/ca.p12" "$tls/broker.csr" "$tls/broker.pem"
  printf '%s' "$pass" > "$tls/keystore-password"
  chmod 600 "$tls/broker.p12" "$tls/keystore-password"
fi
pass=$(cat "$tls/keystore-password")
cp "$tls/ca.pem" "$shared/ca.pem"
chmod 644 "$shared/ca.pem"

admin="$KAFKA_PASSWORD_ADMIN"
scram=org.apache.kafka.common.security.scram.ScramLoginModule
plain=org.apache.kafka.common.security.plain.PlainLoginModule
props="$tls/server.properties"
umask 077
cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
controller.listener.names=CONTROLLER
listeners=INTERNAL://:19092,HOST://:9092,CONTROLLER://:9093
advertised.listeners=INTERNAL://kafka:19092,HOST://localhost:9092
listener.security.protocol.map=INTERNAL:SASL_SSL,HOST:SASL_SSL,CONTROLLER:SASL_SSL
inter.broker.listener.name=INTERNAL
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.internal.scram-sha-512.sasl.jaas.config=$scram required username="admin" password="$admin";
listener.name.internal.scram-sha-256.sasl.jaas.config=$scram required;
listener.name.host.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.host.scram-sha-512.sasl.jaas.config=$scram required;
listener.name.host.scram-sha-256.sasl.jaas.config=$scram required;
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=$plain required username="admin" password="$admin" user_admin="$admin";
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$pass
ssl.key.password=$pass
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
log.dirs=$data/kraft
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.coordinator.append.linger.ms=0
PROPS
# What an operator (and the healthcheck) needs to talk to the broker as the admin.
cat > "$tls/admin.properties" <<ADMIN
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$scram required username="admin" password="$admin";
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ADMIN
cat > "$tls/log4j2.properties" <<'LOG'
status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
LOG
set -f  # the classpath's * is Java's wildcard, not the shell's
java="java -Dlog4j2.configurationFile=$tls/log4j2.properties -cp /opt/kafka/libs/*"
# The admin exists from the first start (the broker logs in with it); the services'
# credentials are set by kafka-setup on every start.
$java kafka.tools.StorageTool format --ignore-formatted -t "${CLUSTER_ID:-rjetclKdab9ORZk_SurCrQ}" \
  -c "$props" --add-scram "SCRAM-SHA-512=[name=admin,password=$admin]" >/dev/null
exec $java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m} -XX:+UseG1GC kafka.Kafka "$props"
