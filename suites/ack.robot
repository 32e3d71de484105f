*** Settings ***
Documentation       UDP acknowledgement server (seed port 8080).
...
...                 Every datagram, whatever it holds, is answered with the fixed text
...                 ``服务端收到信息啦!`` ("the server got the message!") encoded as
...                 ``${ENCODING}``, sent back to the address and port it came from.
...
...                 What is demanded: exactly what the seed program does, a loop that answers
...                 datagram after datagram, plus robustness (tag ``robustness``). Datagrams
...                 from clients in flight at once (tag ``concurrency``) simply queue up, so
...                 that loop serves them too. Nothing here is tagged ``beyond-seed``.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    ack    udp    --encoding    ${ENCODING}
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Template       Datagram Should Be Acknowledged
Test Tags           udp    ack
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
${ENCODING}         GBK
${ACK}              服务端收到信息啦!


*** Test Cases ***                              SENT
English Text Is Acknowledged                    hello server
Chinese Text Is Acknowledged                    你好，服务器
Digits Are Acknowledged                         1234567890
A Single Character Is Acknowledged              x
An Empty Datagram Is Acknowledged               ${EMPTY}

The Server Keeps Answering Datagram After Datagram
    [Documentation]    One client's datagrams are each acknowledged, one after another.
    [Template]    NONE
    Given A Client
    Then Each Of 20 Datagrams Is Acknowledged

The Server Keeps Answering Client After Client
    [Documentation]    Clients that come one after another are each acknowledged.
    [Template]    NONE
    FOR    ${client}    IN RANGE    1    6
        Datagram Should Be Acknowledged    from client ${client}
    END

Two Clients At Once Are Each Acknowledged
    [Documentation]    Datagrams from two clients in flight at the same time are each
    ...    acknowledged to their own sender.
    [Tags]    concurrency
    [Template]    NONE
    Given Two Clients
    When Client "first" Sends "from the first client"
    And Client "second" Sends "from the second client"
    Then Client "second" Receives "${ACK}"
    And Client "first" Receives "${ACK}"

Invalid GBK Does Not Stop The Server
    [Documentation]    A datagram that is not valid text is acknowledged like any other, or
    ...    at least survived: the server keeps answering.
    [Tags]    robustness
    [Template]    NONE
    Given A Client
    When It Sends The Bytes    81 20 ff fe 00
    Then A New Client Is Still Acknowledged


*** Keywords ***
Datagram Should Be Acknowledged
    [Documentation]    A new client sends one datagram and gets exactly the acknowledgement.
    [Arguments]    ${sent}
    Open Client
    Send    ${sent}
    Reply Should Be    ${ACK}

Each Of ${count} Datagrams Is Acknowledged
    [Documentation]    Send numbered datagrams one by one, each acknowledged before the next.
    FOR    ${number}    IN RANGE    1    ${count} + 1
        Send    datagram number ${number}
        Reply Should Be    ${ACK}
    END

A New Client Is Still Acknowledged
    [Documentation]    The server still answers, and its process still runs.
    The Server Process Should Still Run
    Datagram Should Be Acknowledged    still there?
