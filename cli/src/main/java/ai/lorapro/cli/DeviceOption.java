package ai.lorapro.cli;

import ai.lorapro.train.DeviceChoice;

import picocli.CommandLine.Option;

import java.util.Map;

/** {@code --device}: where a command computes; shared by {@code train} and the commands that run a model. */
final class DeviceOption implements FieldOptions {

    @Option(names = "--device", paramLabel = "DEVICE", completionCandidates = EnumNames.Devices.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    String device = EnumNames.of(DeviceChoice.AUTO);

    @Override
    public Map<String, String> flags() {
        return Map.of("device", "--device");
    }

    /**
     * The choice.
     *
     * @throws ai.lorapro.InvalidInputException naming {@code --device} for an unknown name
     */
    DeviceChoice choice() {
        return EnumNames.parse(DeviceChoice.class, "--device", device);
    }
}
