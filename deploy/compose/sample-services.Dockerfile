# The sample services (sample-services module) as an image, for compose.yaml. From the repository root:
#   docker build -f deploy/compose/sample-services.Dockerfile -t signalbox/sample-services:0.1.0 .
# Like deploy/container/Dockerfile: the build stage runs Maven (tests are CI's job), the image holds a JRE, the
# module's jar and its runtime dependencies (the registry SDK among them), and runs as a non-root user.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl sample-services -am package \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/runtime-lib \
 && cp -r sample-services/target/runtime-lib /out \
 && find sample-services/target -maxdepth 1 -name 'sample-services-*.jar' -exec cp {} /out/ \;

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --home-dir /var/lib/signalbox --create-home signalbox
COPY --from=build /out /opt/signalbox-samples/lib
USER 10001
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=50", "-cp", "/opt/signalbox-samples/lib/*", "io.signalbox.samples.SampleServiceMain"]
