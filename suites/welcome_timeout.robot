*** Settings ***
Documentation       TCP welcome server with an idle timeout (seed port 8001).
...
...                 The server waits up to ``IDLE_TIMEOUT`` seconds for a client's first
...                 message. Exactly ``1`` gets ``welcome to server!``; anything else gets
...                 ``please go out!``. Then the server closes the connection. A client that
...                 sends nothing gets no reply and is disconnected after the idle timeout.
...
...                 What is demanded: the seed program serves one client at a time, so by
...                 default so may the server under test, and an idle client may hold the next
...                 one back until its timeout. Giving every client its own timer, so that an
...                 idle client never delays another (tag ``beyond-seed``), is checked only
...                 with ``--variable BEYOND_SEED:true``.
...
...                 The idle timeout is waited for once per run: the scenario that needs a
...                 timeout to have happened reuses the one observed earlier.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    welcome_timeout    tcp    --idle-timeout    ${IDLE_TIMEOUT}
Suite Teardown      Stop Target Server
Test Setup          Skip Beyond-Seed Tests Unless Demanded
Test Teardown       Close All Connections
Test Template       First Message Should Be Answered Then Closed
Test Tags           tcp    welcome_timeout
# Room for the idle scenarios, whatever IDLE_TIMEOUT is.
Test Timeout        ${{ 2 * float(${IDLE_TIMEOUT}) + 20 }}


*** Variables ***
${IDLE_TIMEOUT}             5
${WELCOME}                  welcome to server!
${GO_OUT}                   please go out!
${IDLE_DISCONNECT_SEEN}     ${FALSE}
# Replies and closes must come well before an idle timer could explain them.
${PROMPTLY}                 ${{ min(robot.utils.timestr_to_secs($REPLY_TIMEOUT), float($IDLE_TIMEOUT) / 2) }}


*** Test Cases ***                              MESSAGE         REPLY
Exactly 1 Is Welcome                            1               ${WELCOME}
Another Digit Is Sent Away                      2               ${GO_OUT}
1 Followed By Another Digit Is Sent Away        11              ${GO_OUT}
1 With A Newline Is Sent Away                   1\n             ${GO_OUT}
1 With A Leading Space Is Sent Away             ${SPACE}1       ${GO_OUT}
A Word Is Sent Away                             hello           ${GO_OUT}

An Idle Client Is Disconnected After The Idle Timeout, Not Before
    [Documentation]    A client that sends nothing gets no reply, is still connected at 80%
    ...    of ``IDLE_TIMEOUT`` and is disconnected by 130% of it.
    [Tags]    idle
    [Template]    NONE
    Given An Idle Client
    Then It Gets No Reply And Stays Connected Until 80% Of The Idle Timeout
    And It Is Disconnected By 130% Of The Idle Timeout

An Idle Client Does Not Delay Another Client
    [Documentation]    Each client has its own timer: while one client idles, another one
    ...    is answered well before the idle timeout could have freed the server.
    ...    Beyond the seed, which serves one client at a time.
    [Tags]    concurrency    beyond-seed
    [Template]    NONE
    Given An Idle Client
    Then Another Client Is Welcomed Promptly

The Server Keeps Serving After An Idle Timeout
    [Documentation]    Disconnecting an idle client does not stop the server.
    [Tags]    idle
    [Template]    NONE
    Given The Server Has Disconnected An Idle Client
    Then The Server Process Should Still Run
    And First Message Should Be Answered Then Closed    1    ${WELCOME}


*** Keywords ***
First Message Should Be Answered Then Closed
    [Documentation]    A new client sends ``message``, gets exactly ``reply``, and then the
    ...    server closes the connection promptly.
    [Arguments]    ${message}    ${reply}
    Open Client
    Send    ${message}
    Reply Should Be    ${reply}
    Connection Should Be Closed    within=${PROMPTLY}

Another Client Is Welcomed Promptly
    [Documentation]    A second client sends ``1`` and is welcomed while the first idles.
    Open Client
    Send    1
    Reply Should Be    ${WELCOME}    timeout=${PROMPTLY}

An Idle Client
    [Documentation]    A client that connects and sends nothing.
    Open Client    idle

It Gets No Reply And Stays Connected Until ${percent}% Of The Idle Timeout
    [Documentation]    Nothing arrives and the connection stays open until then.
    ${remaining}    Seconds Until ${percent}% Of The Idle Timeout
    Connection Should Stay Open    ${remaining}
    No Reply Within    0s

It Is Disconnected By ${percent}% Of The Idle Timeout
    [Documentation]    The server closes the idle connection no later than then.
    ${remaining}    Seconds Until ${percent}% Of The Idle Timeout
    Connection Should Be Closed    within=${remaining}
    VAR    ${IDLE_DISCONNECT_SEEN}    ${TRUE}    scope=SUITE

Seconds Until ${percent}% Of The Idle Timeout
    [Documentation]    Seconds from now until that share of the idle client's timeout.
    ${age}    Get Connection Age
    ${seconds}    Evaluate    max(0.0, ${IDLE_TIMEOUT} * ${percent} / 100 - ${age})
    RETURN    ${seconds}

The Server Has Disconnected An Idle Client
    [Documentation]    Reuses the disconnect observed earlier in this run, if any, so the
    ...    suite waits for the idle timeout only once.
    IF    not ${IDLE_DISCONNECT_SEEN}
        An Idle Client
        It Is Disconnected By 130% Of The Idle Timeout
        Close Connection
    END
